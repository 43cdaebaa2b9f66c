"""Webhook delivery benchmark (issue 4). Run: ``python -m bench.notifications_bench``.

1. One change watched by 1,000 subscriptions, each with its own URL on one local aiohttp receiver: time until
   all 1,000 are delivered, against a bare aiohttp client POSTing the same 1,000 bodies with bounded
   concurrency (64, the deliverer's per-host connection cap) to the same receiver, in the same run.
   Target: at most 1.5x.
2. The same 1,000 healthy subscriptions served over HTTP, with and without 100 more subscriptions whose
   receivers never answer: the API's p99 latency (setPresence and GET presence under load) and the healthy
   receivers' delivery time. Target: within 1.5x of the run without them.

Figures are ratios measured in one run; the machine is shared, so each is a median of several repeats, the
with/without runs alternate and each pair's own ratio is printed as the spread. In part 2 the emulator, the
healthy receiver, the dead receivers and the load generator are four processes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import sys
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from emulator.app import create_app
from emulator.delivery.transport import HttpTransport
from emulator.runtime import Runtime
from emulator.subscriptions.settings import NotificationSettings
from emulator.tenant import Tenant, TenantSettings

USER = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
CONCURRENCY = 64


class Sink:
    """One receiver: counts POSTs on any path; ``hang`` makes it never answer."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()
        self.closing = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.ports: list[int] = []

    async def start(self, sites: int = 1) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        app.router.add_get("/wait", self.wait)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        for _ in range(sites):
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
        self.ports = [a[1] for a in self.runner.addresses]

    async def handle(self, request: web.Request) -> web.Response:
        if self.hang:
            await self.closing.wait()
        body = await request.read()
        self.count += body.count(b'"subscriptionId"')
        if self.count >= self.target:
            self.done.set()
        return web.Response(status=202)

    async def wait(self, request: web.Request) -> web.Response:
        """Long-poll: answers once ``n`` items have arrived in total."""
        self.expect(int(request.query["n"]))
        await self.done.wait()
        return web.Response(text=str(self.count))

    def expect(self, total: int) -> None:
        self.target = total
        self.done = asyncio.Event()
        if self.count >= total:
            self.done.set()

    async def stop(self) -> None:
        self.closing.set()
        if self.runner is not None:
            await self.runner.cleanup()


class RemoteSinks:
    """The receivers run in child processes (the healthy one apart from the dead ones, as real receivers
    would be), so neither the emulator's event loop nor the healthy receiver's serves anything else."""

    def __init__(self, dead: int) -> None:
        self.dead = dead
        self.processes: list[asyncio.subprocess.Process] = []
        self.healthy_port = 0
        self.dead_ports: list[int] = []
        self.session: aiohttp.ClientSession | None = None

    async def _spawn(self, dead: int) -> list[int]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.notifications_bench", "--sinks", str(dead), stdout=asyncio.subprocess.PIPE)
        self.processes.append(process)
        assert process.stdout is not None
        return [int(p) for p in (await process.stdout.readline()).split()]

    async def start(self) -> None:
        self.healthy_port = (await self._spawn(0))[0]
        if self.dead:
            self.dead_ports = await self._spawn(self.dead)
        self.session = aiohttp.ClientSession()

    async def wait_for(self, total: int) -> None:
        assert self.session is not None
        async with self.session.get(f"http://127.0.0.1:{self.healthy_port}/wait", params={"n": str(total)}) as r:
            await r.read()

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        for process in self.processes:
            process.terminate()
            await process.wait()


async def serve_sinks(dead: int) -> None:
    """A child process: one healthy receiver (``dead == 0``) or ``dead`` never-answering ones."""
    # A never-answering receiver's connections are cut by the sender's deadline: expected, not worth a traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    sink = Sink(hang=dead > 0)
    await sink.start(sites=max(dead, 1))
    print(" ".join(str(p) for p in sink.ports), flush=True)
    await asyncio.Event().wait()


def add_subscriptions(tenant: Tenant, urls: list[str], first: int = 0) -> None:
    store = tenant.subscriptions
    for i, url in enumerate(urls, start=first):
        app_id = f"00000000-0000-4000-8000-{i:012d}"
        draft = store.draft(resource=f"communications/presences/{USER}", change_type="updated", notification_url=url,
                            expiration=tenant.clock.time() + 3000, application_id=app_id, creator_id=app_id,
                            client_state="bench")
        store.add(draft)


async def bare_client(urls: list[str], bodies: list[bytes]) -> float:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def post(url: str, body: bytes) -> None:
            async with semaphore, session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(post(u, b) for u, b in zip(urls, bodies, strict=True)))
        return time.perf_counter() - started


async def fan_out(repeats: int) -> dict[str, Any]:
    sink = RemoteSinks(0)
    await sink.start()
    delivered = 0
    urls = [f"http://127.0.0.1:{sink.healthy_port}/r/{i}" for i in range(1000)]
    tenant = Tenant(TenantSettings(clock_mode="manual"))
    transport = HttpTransport(CONCURRENCY)
    tenant.delivery.transport = transport
    add_subscriptions(tenant, urls)
    availabilities = [("Busy", "InACall"), ("Away", "Away")]
    emulator_times: list[float] = []
    bare_times: list[float] = []
    bodies: list[bytes] = []
    for round_ in range(repeats + 1):  # the first round warms connections up and is not counted
        delivered += 1000
        started = time.perf_counter()
        tenant.presence.set_session(USER, "bench", *availabilities[round_ % 2], expires_in=3600)
        await sink.wait_for(delivered)
        elapsed = time.perf_counter() - started
        await tenant.delivery.drain()
        if not bodies:
            bodies = [orjson.dumps(r.payload) for r in tenant.delivery.log.query()[-1000:]]
        delivered += 1000
        bare = await bare_client(urls, bodies)
        await sink.wait_for(delivered)
        if round_:
            emulator_times.append(elapsed)
            bare_times.append(bare)
    await transport.close()
    await sink.stop()
    emulator = statistics.median(emulator_times)
    bare = statistics.median(bare_times)
    return {"emulator_ms": emulator * 1000, "bare_client_ms": bare * 1000, "ratio": emulator / bare,
            "emulator_runs_ms": [round(t * 1000, 1) for t in emulator_times],
            "bare_runs_ms": [round(t * 1000, 1) for t in bare_times]}


class RemoteEmulator:
    """The emulator in its own process (manual clock, subscriptions added directly), so the load generator and
    the receivers never share its event loop; its CPU time is read from /proc."""

    def __init__(self, healthy_port: int, dead_ports: list[int]) -> None:
        self.args = [str(healthy_port), *map(str, dead_ports)]
        self.process: asyncio.subprocess.Process | None = None
        self.base = ""

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.notifications_bench", "--emulator", *self.args,
            stdout=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        port = int(await self.process.stdout.readline())
        self.base = f"http://127.0.0.1:{port}/v1.0"

    def cpu_seconds(self) -> float:
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> dict[str, float]:
        """Stops it; returns its event loop's lag (how late a 1 ms timer fired) over the measured rounds."""
        assert self.process is not None and self.process.stdout is not None
        self.process.terminate()
        lag = orjson.loads(await self.process.stdout.readline())
        await self.process.wait()
        return {str(k): float(v) for k, v in lag.items()}

    def measure_lag(self) -> None:
        """From now on (after the warm-up round) the emulator's loop lag counts."""
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)


async def serve_emulator(healthy_port: int, dead_ports: list[int]) -> None:
    """A child process: the emulator with 1,000 healthy subscriptions and one per dead receiver."""
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    runtime = Runtime(TenantSettings(clock_mode="manual", notifications=NotificationSettings()))
    runner = web.AppRunner(create_app(runtime), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    add_subscriptions(runtime.tenant, [f"http://127.0.0.1:{healthy_port}/r/{i}" for i in range(1000)])
    add_subscriptions(runtime.tenant, [f"http://127.0.0.1:{p}/dead" for p in dead_ports], first=5000)
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, lags.clear)
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def watch() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            lags.append(loop.time() - before - 0.001)

    watcher = asyncio.create_task(watch())
    print(runner.addresses[0][1], flush=True)
    await stop.wait()
    watcher.cancel()
    lags.sort()
    print(orjson.dumps({"lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000, "lag_max_ms": lags[-1] * 1000,
                        "lag_over_50ms": sum(lag > 0.05 for lag in lags)}).decode(), flush=True)


async def api_run(dead_receivers: int, rounds: int) -> dict[str, float]:
    """One run: ``rounds`` changes (after one warm-up), each with 100 presence reads alongside, the next
    change once the healthy receiver has all 1,000 items of this one."""
    sinks = RemoteSinks(dead_receivers)
    await sinks.start()
    emulator = RemoteEmulator(sinks.healthy_port, sinks.dead_ports)
    await emulator.start()
    base = emulator.base
    delivered = 0
    latencies: list[float] = []
    deliveries: list[float] = []
    cpu_started = 0.0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as api:
        async def timed(method: str, url: str, body: dict[str, Any] | None = None) -> None:
            started = time.perf_counter()
            async with api.request(method, url, json=body) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append(time.perf_counter() - started)

        pairs = [("Busy", "InACall"), ("Away", "Away")]
        for round_ in range(rounds + 1):
            delivered += 1000
            started = time.perf_counter()
            change = timed("POST", f"{base}/users/{USER}/presence/setPresence", {
                "sessionId": "bench", "availability": pairs[round_ % 2][0], "activity": pairs[round_ % 2][1],
                "expirationDuration": "PT1H"})
            reads = [timed("GET", f"{base}/users/{USER}/presence") for _ in range(100)]
            await asyncio.gather(change, *reads)
            await sinks.wait_for(delivered)
            if round_:
                deliveries.append(time.perf_counter() - started)
            else:
                latencies.clear()
                cpu_started = emulator.cpu_seconds()
                emulator.measure_lag()
        cpu = emulator.cpu_seconds() - cpu_started
    lag = await emulator.stop()
    await sinks.stop()
    latencies.sort()
    return {"p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "delivery_ms": statistics.median(deliveries) * 1000, "cpu_ms_per_round": cpu / rounds * 1000, **lag}


async def main(repeats: int, rounds: int, pairs: int, with_fan_out: bool) -> None:
    if with_fan_out:
        fan = await fan_out(repeats)
        print(f"1,000 URLs, one change: emulator {fan['emulator_ms']:.1f} ms vs bare aiohttp client "
              f"{fan['bare_client_ms']:.1f} ms -> ratio {fan['ratio']:.2f} (target <= 1.5)")
        print(f"   runs (ms): emulator {fan['emulator_runs_ms']}, bare {fan['bare_runs_ms']}")
    # The two variants alternate, so drift in the machine's load hits both alike; medians of each.
    runs: dict[int, list[dict[str, float]]] = {0: [], 100: []}
    for _ in range(pairs):
        for dead in (0, 100):
            runs[dead].append(await api_run(dead, rounds))

    def median(dead: int, key: str) -> float:
        return statistics.median(r[key] for r in runs[dead])

    for key, label in (("p99_ms", "API p99 latency"), ("delivery_ms", "healthy delivery (1,000 URLs)"),
                       ("cpu_ms_per_round", "emulator CPU per round"), ("lag_p99_ms", "emulator loop lag p99"),
                       ("lag_max_ms", "emulator loop lag max"), ("lag_over_50ms", "loop stalls over 50 ms (count)")):
        clean, with_dead = median(0, key), median(100, key)
        # Spread: the ratio of each pair run back to back, so drift in the machine's load shows.
        ratios = sorted(b[key] / max(a[key], 1e-9) for a, b in zip(runs[0], runs[100], strict=True))
        print(f"{label}: {clean:.1f} ms without dead receivers, {with_dead:.1f} ms with 100 -> ratio "
              f"{with_dead / max(clean, 1e-9):.2f} (target <= 1.5); per-pair ratios {[round(r, 2) for r in ratios]}")
        print(f"   runs (ms): without {[round(r[key], 1) for r in runs[0]]}, "
              f"with {[round(r[key], 1) for r in runs[100]]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="fan-out repeats (median reported)")
    parser.add_argument("--rounds", type=int, default=10, help="API rounds per variant")
    parser.add_argument("--pairs", type=int, default=3, help="API runs per variant, alternating")
    parser.add_argument("--skip-fan-out", action="store_true", help="only the dead-receiver comparison")
    parser.add_argument("--sinks", type=int, default=None, help=argparse.SUPPRESS)  # a receivers' process
    parser.add_argument("--emulator", type=int, nargs="+", default=None, help=argparse.SUPPRESS)  # emulator's
    args = parser.parse_args()
    if args.sinks is not None:
        asyncio.run(serve_sinks(args.sinks))
    elif args.emulator is not None:
        asyncio.run(serve_emulator(args.emulator[0], args.emulator[1:]))
    else:
        asyncio.run(main(args.repeats, args.rounds, args.pairs, not args.skip_fan_out))
