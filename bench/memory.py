"""Resident memory of the emulator holding many users, each with one presence session.

The measurement runs in a fresh subprocess so that nothing else this process imported or allocated counts:
it imports the app, builds a tenant (manual clock) with ``--users`` users that each have one default
application session (PT5M, so each also holds a pending timer), reads every user's presence once so the
per-user wire cache is full too, and reports its resident set size (VmRSS) and its peak (VmHWM).

    python -m bench.memory [--users 100000] [--limit-mb 300]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from pathlib import Path

from bench.servers import SESSION_ID, user_id

ROOT = Path(__file__).resolve().parent.parent


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(users: int) -> dict[str, float]:
    """Runs in the subprocess: build the state and measure this process."""
    from emulator.app import create_app
    from emulator.graph import wire
    from emulator.runtime import Runtime
    from emulator.tenant import TenantSettings

    runtime = Runtime(TenantSettings(clock_mode="manual"))
    create_app(runtime)
    gc.collect()
    empty_kib = status_kib("VmRSS")
    directory = runtime.tenant.presence
    for i in range(users):
        directory.set_session(user_id(i), SESSION_ID, "Available", "Available", expires_in=300)
    for user in directory.users.values():
        wire.presence_bytes(user, user.id, own=False)
    gc.collect()
    rss_kib = status_kib("VmRSS")
    assert len(directory.users) == users
    return {
        "users": users,
        "empty_rss_mb": empty_kib / 1024,
        "rss_mb": rss_kib / 1024,
        "peak_rss_mb": status_kib("VmHWM") / 1024,
        "bytes_per_user": (rss_kib - empty_kib) * 1024 / max(users, 1),
        "pending_timers": len(runtime.tenant.scheduler),
    }


def measure(users: int) -> dict[str, float]:
    """Run ``child`` in a fresh interpreter and return what it measured."""
    out = subprocess.run([sys.executable, "-m", "bench.memory", "--child", "--users", str(users)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--limit-mb", type=float, default=300.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.users)))
        return 0
    fig = measure(args.users)
    met = fig["rss_mb"] < args.limit_mb
    print(f"{fig['users']:.0f} users with one session each: RSS {fig['rss_mb']:.1f} MB "
          f"(peak {fig['peak_rss_mb']:.1f} MB; {fig['empty_rss_mb']:.1f} MB before any user; "
          f"{fig['bytes_per_user']:.0f} bytes per user); limit {args.limit_mb:.0f} MB: {'ok' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
