"""How long advancing the clock 24 hours takes over many expiring presence sessions.

Each user gets one application session as ``setPresence`` makes it (Available, so it fades), and the clock is
then advanced by 24 hours in one call, which runs every fade and expiry in time order. Two workloads:

``default``: every session is a default PT5M session set at the same instant; each expires at 5 minutes
(where it would also have faded), so each is one scheduler entry and one published change.

``varied``: the same, but with expirations from PT5M to PT4H in 5-minute steps, so most sessions fade to
AvailableInactive, then to Away, then expire (about three entries and three changes each).

A listener counts the published changes, and the bench checks that every user ends Offline with nothing left
on the scheduler. Timing covers only the advance, best and median of ``--repeat`` runs, each in a fresh
subprocess (a run in a process that has just built and dropped other tenants is slower, and by how much
depends on what ran before it).

    python -m bench.clock_advance [--sessions 100000] [--repeat 3] [--limit-s 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.servers import SESSION_ID, user_id
from emulator.presence.directory import PresenceChange
from emulator.tenant import Tenant, TenantSettings

ROOT = Path(__file__).resolve().parent.parent
DAY = 24 * 3600.0
DURATIONS = [300.0 * k for k in range(1, 49)]  # PT5M .. PT4H in steps of 5 minutes


def build(sessions: int, workload: str) -> Tenant:
    tenant = Tenant(TenantSettings(clock_mode="manual", start=1_790_000_000.0))
    directory = tenant.presence
    for i in range(sessions):
        expires_in = 300.0 if workload == "default" else DURATIONS[i % len(DURATIONS)]
        directory.set_session(user_id(i), SESSION_ID, "Available", "Available", expires_in=expires_in)
    return tenant


def run_once(sessions: int, workload: str) -> tuple[float, int, int]:
    """(seconds the 24-hour advance took, scheduler entries it ran, changes it published)."""
    tenant = build(sessions, workload)
    changes = 0

    def count(_change: PresenceChange) -> None:
        nonlocal changes
        changes += 1

    tenant.presence.listeners.append(count)
    gc.collect()
    start = time.perf_counter()
    ran = tenant.advance(DAY)
    elapsed = time.perf_counter() - start
    directory = tenant.presence
    assert all(u.availability == "Offline" and not u.sessions for u in directory.users.values())
    assert tenant.scheduler.next_due() is None
    return elapsed, ran, changes


def run_fresh(sessions: int, workload: str) -> tuple[float, int, int]:
    """``run_once`` in a new interpreter."""
    out = subprocess.run([sys.executable, "-m", "bench.clock_advance", "--child", "--sessions", str(sessions),
                          "--workload", workload], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    elapsed, ran, changes = json.loads(out.strip().splitlines()[-1])
    return float(elapsed), int(ran), int(changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clock_advance", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit-s", type=float, default=2.0)
    parser.add_argument("--workload", choices=("default", "varied", "both"), default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_once(args.sessions, args.workload)))
        return 0
    workloads = ("default", "varied") if args.workload == "both" else (args.workload,)
    ok = True
    for workload in workloads:
        runs = [run_fresh(args.sessions, workload) for _ in range(args.repeat)]
        times = [r[0] for r in runs]
        _, ran, changes = runs[0]
        median = statistics.median(times)
        met = median < args.limit_s
        ok = ok and met
        print(f"{workload:<9} advance 24h over {args.sessions} sessions: median {median:.3f} s "
              f"(best {min(times):.3f}, worst {max(times):.3f}); {ran} entries ran, {changes} changes published; "
              f"limit {args.limit_s:g} s: {'ok' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
