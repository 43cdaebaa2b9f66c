"""What the request journal and fault rules cost on the hot read path (issue 6's performance target).

Starts one emulator (``python -m emulator serve``) and load-tests ``GET /v1.0/users/{id}/presence`` in three
configurations, switched at runtime between rounds so that all three run in the same process, interleaved:

    off        journal capacity 0, no fault rules               (the baseline)
    journal    journal on (1000 entries), no fault rules         target >= 0.85x of off
    rules      journal on, 100 fault rules that do not match     target >= 0.80x of off

The load comes from ``wrk`` when it is installed (``apt-get install -y wrk``), else from an aiohttp client.
Each round runs every configuration once, in a rotating order; the figures are the medians over rounds,
with the spread (min-max of the per-round ratios) as a measure of noise.

    python bench/journal_faults.py [--rounds 7] [--seconds 3] [--connections 32] [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("off", "journal", "rules")
TARGETS = {"journal": 0.85, "rules": 0.80}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def control(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def hundred_rules(users: list[str]) -> list[dict[str, Any]]:
    """Rules a test suite might load, none of which matches a GET of the benchmarked users' presence."""
    rules: list[dict[str, Any]] = []
    for i in range(40):
        rules.append({"method": "POST", "path": f"/v1.0/users/{uuid.UUID(int=i + 1)}/presence/setPresence",
                      "status": 503, "nth": i + 1})
    for i in range(30):
        rules.append({"method": "GET", "path": f"/v1.0/users/{uuid.UUID(int=10_000 + i)}/presence",
                      "status": 429, "probability": 0.5, "seed": i})
    for i in range(20):
        rules.append({"path": f"/beta/communications/presences/{uuid.UUID(int=20_000 + i)}", "latency": 1})
    for i in range(10):
        rules.append({"method": ["PATCH", "DELETE"], "path": "/v1.0/subscriptions/**", "drop": True,
                      "window": {"start": f"PT{i + 1}H"}})
    assert not any(u.startswith("00000000-0000-0000-0000-0000") for u in users)
    return rules


def configure(base: str, mode: str, rules: list[dict[str, Any]], capacity: int) -> None:
    control(base, "DELETE", "/_emulator/faults")
    control(base, "DELETE", "/_emulator/requests")
    control(base, "POST", "/_emulator/requests/settings", {"capacity": 0 if mode == "off" else capacity})
    if mode == "rules":
        control(base, "POST", "/_emulator/faults", rules)


def wrk_script(users: list[str]) -> str:
    paths = ",".join(f'"/v1.0/users/{u}/presence"' for u in users)
    return (f"local paths = {{{paths}}}\nlocal n = #paths\nlocal i = 0\n"
            "request = function()\n  i = i % n + 1\n  return wrk.format('GET', paths[i])\nend\n")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): less disturbed by other load than throughput is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(base: str, script: str, seconds: int, connections: int) -> tuple[float, int]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, base],
                         capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rate is None or count is None or "Non-2xx" in out:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(rate.group(1)), int(count.group(1))


def run_aiohttp(base: str, users: list[str], seconds: int, connections: int) -> tuple[float, int]:
    import aiohttp

    async def load() -> tuple[float, int]:
        done = 0
        deadline = time.perf_counter() + seconds
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(base, connector=connector) as session:
            async def worker(offset: int) -> None:
                nonlocal done
                i = offset
                while time.perf_counter() < deadline:
                    async with session.get(f"/v1.0/users/{users[i % len(users)]}/presence") as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"status {response.status}")
                    done += 1
                    i += 1
            started = time.perf_counter()
            await asyncio.gather(*(worker(n) for n in range(connections)))
            return done / (time.perf_counter() - started), done
    return asyncio.run(load())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000, help="distinct user ids the GETs cycle through")
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--capacity", type=int, default=1000, help="the journal's ring size when on")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="start the server with gc.freeze() after its imports (an experiment)")
    args = parser.parse_args()

    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "emulator", "serve", "--port", str(port)]
    if args.gc_freeze:
        command = [sys.executable, "-c", "import gc, sys, emulator.cli as cli; gc.freeze(); "
                   f"sys.exit(cli.main(['serve', '--port', '{port}']))"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    users = [str(uuid.uuid4()) for _ in range(args.users)]
    rules = hundred_rules(users)
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}  # server CPU microseconds per request
    try:
        for _ in range(100):
            try:
                control(base, "GET", "/_emulator/health")
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(wrk_script(users))
            script = handle.name
        for mode in MODES:  # warm-up: imports, caches, the allocator
            configure(base, mode, rules, args.capacity)
            _ = run_wrk(base, script, 1, args.connections) if use_wrk else run_aiohttp(base, users, 1, args.connections)
        for round_number in range(args.rounds):
            order = MODES[round_number % 3:] + MODES[:round_number % 3]
            for mode in order:
                configure(base, mode, rules, args.capacity)
                before = cpu_seconds(server.pid)
                rate, count = (run_wrk(base, script, args.seconds, args.connections) if use_wrk
                               else run_aiohttp(base, users, args.seconds, args.connections))
                cpu[mode].append((cpu_seconds(server.pid) - before) / count * 1e6)
                rates[mode].append(rate)
            print(f"round {round_number + 1}: " + "  ".join(f"{m} {rates[m][-1]:6.0f}/s {cpu[m][-1]:5.1f} us"
                                                             for m in MODES), flush=True)
        journal_held = control(base, "GET", "/_emulator/requests/summary")["held"]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=15)
        if use_wrk:
            os.unlink(script)

    baseline = statistics.median(rates["off"])
    print(f"\nload: {'wrk' if use_wrk else 'aiohttp'}, {args.connections} connections, {args.rounds} rounds of "
          f"{args.seconds:g} s per configuration, {args.users} users; journal held {journal_held} at the end")
    print("throughput: median req/s over rounds, its ratio to 'off', and the min-max of the per-round ratios;")
    print("CPU: the server's CPU microseconds per request (median), and 'off' / that (the throughput one core")
    print("would reach, relative to 'off': the steadier figure on a machine that is busy with other work)")
    print("(ratio: of the medians; per-round: the median and min-max of each round's ratio to that round's 'off')")
    print(f"{'configuration':<13} {'req/s':>7} {'ratio':>6} {'per-round':>20}   {'CPU us/req':>10} {'ratio':>6} "
          f"{'target':>7}")
    cpu_baseline = statistics.median(cpu["off"])
    failed = False
    for mode in MODES:
        median = statistics.median(rates[mode])
        per_round = [r / b for r, b in zip(rates[mode], rates["off"], strict=True)]
        cpu_median = statistics.median(cpu[mode])
        target = TARGETS.get(mode)
        ok = target is None or median / baseline >= target
        failed |= not ok
        print(f"{mode:<13} {median:>7.0f} {median / baseline:>6.3f} {statistics.median(per_round):>6.3f} "
              f"({min(per_round):.2f}-{max(per_round):.2f})   "
              f"{cpu_median:>10.1f} {cpu_baseline / cpu_median:>6.3f} "
              f"{'' if target is None else f'>= {target:.2f}' + (' ok' if ok else ' MISSED')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
