"""Throughput of the emulator against a bare aiohttp baseline, both measured in the same run with ``wrk``.

Both servers (``bench/servers.py``) run for the whole benchmark, pinned to one core; ``wrk`` runs pinned to
another. Each round measures every scenario on both servers, alternating which goes first, and the figures
reported are medians over the rounds: the ratio is the median of the per-round ratios (each round's two
measurements are seconds apart, so they share the machine's noise), with the spread (min-max) beside it.

    python -m bench.throughput [--users 10000] [--rounds 5] [--duration 5] [--json results.json]

Needs ``wrk`` and ``taskset`` on the PATH (Debian: ``apt-get install -y wrk``; taskset is in util-linux).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.servers import SESSION_ID, user_id

WRK_DIR = Path(__file__).resolve().parent / "wrk"
SERVERS = ("baseline", "emulator")


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    target: float  # the emulator's rps must be at least this fraction of the baseline's
    args: tuple[str, ...] = ()


def scenarios(users: int, ids: int) -> list[Scenario]:
    return [
        Scenario("GET /users/{id}/presence", "get_presence.lua", 0.90, (str(users),)),
        Scenario(f"POST getPresencesByUserId ({ids} ids)", "get_presences.lua", 0.70, (str(users), str(ids))),
        Scenario("POST setPresence", "set_presence.lua", 0.85, (str(users),)),
    ]


def cpu_sets() -> tuple[str, str]:
    """(server cores, load generator cores): the first available CPU for the servers, the rest for wrk."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return str(cpus[0]), str(cpus[0])
    return str(cpus[0]), ",".join(str(c) for c in cpus[1:])


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running_server(kind: str, users: int, cores: str, extra: tuple[str, ...] = ()) -> Iterator[Server]:
    """Start one server pinned to ``cores`` (taskset execs it, so the pid is the server's); stops it on exit."""
    cmd = ["taskset", "-c", cores, sys.executable, "-m", "bench.servers", kind, "--users", str(users), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"listening on (\d+)", line)
        if match is None:
            raise RuntimeError(f"{kind} server did not start: {line!r}")
        yield Server(int(match.group(1)), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_answers(port: int, users: int, ids: int) -> None:
    """One request of each scenario, so a broken server fails loudly instead of being measured fast."""
    base = f"http://127.0.0.1:{port}/v1.0"
    uid = user_id(users - 1)
    with urllib.request.urlopen(f"{base}/users/{uid}/presence", timeout=10) as resp:
        assert json.loads(resp.read())["availability"] == "Available"
    body = json.dumps({"ids": [user_id(i) for i in range(min(ids, users))]}).encode()
    req = urllib.request.Request(f"{base}/communications/getPresencesByUserId", body,
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert len(json.loads(resp.read())["value"]) == min(ids, users)
    body = json.dumps({"sessionId": SESSION_ID, "availability": "Available", "activity": "Available",
                       "expirationDuration": "PT1H"}).encode()
    req = urllib.request.Request(f"{base}/users/{uid}/presence/setPresence", body,
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def run_wrk(port: int, scenario: Scenario, *, duration: int, connections: int, cores: str) -> float:
    """Requests per second of one wrk run; raises if any request failed."""
    cmd = ["taskset", "-c", cores, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
           "-s", str(WRK_DIR / scenario.script), f"http://127.0.0.1:{port}", "--", *scenario.args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    return float(match.group(1))


@dataclass
class Figures:
    """One scenario's measurements on both servers, round by round."""

    rps: dict[str, list[float]]
    # Requests per second of server CPU time: what the server costs per request, which other load on the
    # machine disturbs far less than the wall-clock rate does.
    per_cpu: dict[str, list[float]]

    def summary(self, target: float) -> dict[str, object]:
        out: dict[str, object] = {"target": target}
        for name, series in (("rps", self.rps), ("per_cpu_second", self.per_cpu)):
            ratios = [e / b for b, e in zip(series["baseline"], series["emulator"], strict=True)]
            out[name] = {
                "baseline": series["baseline"],
                "emulator": series["emulator"],
                "baseline_median": statistics.median(series["baseline"]),
                "emulator_median": statistics.median(series["emulator"]),
                "ratios": ratios,
                "ratio_median": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
        rps = out["rps"]
        assert isinstance(rps, dict)
        out["met"] = rps["ratio_median"] >= target
        return out


def measure(server: Server, scenario: Scenario, *, duration: int, connections: int, cores: str) -> tuple[float, float]:
    """(requests per wall-clock second, requests per second of the server's CPU time) of one wrk run."""
    cpu_before = server.cpu_seconds()
    rps = run_wrk(server.port, scenario, duration=duration, connections=connections, cores=cores)
    cpu = server.cpu_seconds() - cpu_before
    return rps, rps * duration / cpu if cpu > 0 else float("nan")


def print_table(title: str, key: str, summary: dict[str, dict[str, object]]) -> None:
    print(f"\n{title}")
    print(f"{'scenario':<40} {'baseline':>10} {'emulator':>10} {'ratio':>6} {'spread':>11} {'target':>7}")
    for name, fig in summary.items():
        series = fig[key]
        assert isinstance(series, dict)
        met = "ok" if series["ratio_median"] >= fig["target"] else "MISSED"
        print(f"{name:<40} {series['baseline_median']:>10.0f} {series['emulator_median']:>10.0f} "
              f"{series['ratio_median']:>6.2f} {series['ratio_min']:>5.2f}-{series['ratio_max']:<5.2f} "
              f"{'>=':>3}{fig['target']:.2f} {met}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users, each with one session (10000)")
    parser.add_argument("--ids", type=int, default=650, help="ids per getPresencesByUserId (650)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (7)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load per server and scenario (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--journal-size", type=int, default=None,
                        help="the emulator's request journal size (default: serve's default; 0 turns it off)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on the PATH (Debian: apt-get install -y wrk util-linux)")

    server_cores, load_cores = cpu_sets()
    chosen = [s for s in scenarios(args.users, args.ids) if not args.only or args.only in s.name]
    journal = "default" if args.journal_size is None else str(args.journal_size)
    print(f"servers on CPU {server_cores}, wrk on CPU {load_cores}; {args.users} users; journal size {journal}; "
          f"{args.rounds} rounds of {args.duration}s x {args.connections} connections", flush=True)
    figures = {s.name: Figures({k: [] for k in SERVERS}, {k: [] for k in SERVERS}) for s in chosen}
    with running_server("baseline", args.users, server_cores) as baseline, \
            running_server("emulator", args.users, server_cores,
                           () if args.journal_size is None else ("--journal-size", str(args.journal_size))) as emulator:
        servers = {"baseline": baseline, "emulator": emulator}
        for server in servers.values():
            check_answers(server.port, args.users, args.ids)
        for scenario in chosen:
            for kind in SERVERS:
                if args.warmup > 0:
                    run_wrk(servers[kind].port, scenario, duration=args.warmup, connections=args.connections,
                            cores=load_cores)
        for round_no in range(args.rounds):
            order = SERVERS if round_no % 2 == 0 else SERVERS[::-1]
            for scenario in chosen:
                fig = figures[scenario.name]
                for kind in order:
                    rps, per_cpu = measure(servers[kind], scenario, duration=args.duration,
                                           connections=args.connections, cores=load_cores)
                    fig.rps[kind].append(rps)
                    fig.per_cpu[kind].append(per_cpu)
                print(f"round {round_no + 1}: {scenario.name:<38} rps {fig.rps['baseline'][-1]:>7.0f} / "
                      f"{fig.rps['emulator'][-1]:>7.0f} = {fig.rps['emulator'][-1] / fig.rps['baseline'][-1]:.2f}"
                      f"   per CPU-s {fig.per_cpu['baseline'][-1]:>7.0f} / {fig.per_cpu['emulator'][-1]:>7.0f} = "
                      f"{fig.per_cpu['emulator'][-1] / fig.per_cpu['baseline'][-1]:.2f}", flush=True)

    summary = {s.name: figures[s.name].summary(s.target) for s in chosen}
    print_table("Requests per second (median of rounds; ratio = median of per-round emulator/baseline)", "rps",
                summary)
    print_table("Requests per second of server CPU time (less disturbed by other load)", "per_cpu_second",
                summary)
    if args.json:
        args.json.write_text(json.dumps({"users": args.users, "ids": args.ids, "rounds": args.rounds,
                                         "journal_size": args.journal_size,
                                         "duration": args.duration, "connections": args.connections,
                                         "scenarios": summary}, indent=2))
    return 0 if all(fig["met"] for fig in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
