"""Fixture cost: start plus teardown of a fresh in-process emulator, as the pytest plugin pays it per test.

Target (issue 5): under 50 ms median, so that 500 tests that each get a fresh emulator pay under 25 s. Measured
for both forms the fixture uses (``Emulator`` in the test's loop, ``EmulatorThread`` for plain tests), beside a
bare aiohttp app's start plus teardown in the same run as the baseline.

    python -m bench.fixture_bench [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from emulator import Emulator, EmulatorThread


async def bare_app() -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await runner.cleanup()


async def in_loop() -> None:
    async with Emulator():
        pass


async def timed(action: Callable[[], Awaitable[None]], runs: int) -> list[float]:
    await action()  # warm-up: imports and first-use caches
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def timed_thread(runs: int) -> list[float]:
    with EmulatorThread():
        pass
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        with EmulatorThread():
            pass
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def describe(name: str, samples: list[float], baseline: float) -> str:
    median = statistics.median(samples)
    q = statistics.quantiles(samples, n=10)
    return (f"{name:<34} median {median:6.2f} ms  p10 {q[0]:6.2f}  p90 {q[-1]:6.2f}  "
            f"x{median / baseline:4.2f} of bare aiohttp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    baseline = asyncio.run(timed(bare_app, runs))
    loop_samples = asyncio.run(timed(in_loop, runs))
    thread_samples = timed_thread(runs)
    base = statistics.median(baseline)
    print(f"start + teardown, {runs} runs each (target: median < 50 ms)")
    print(describe("bare aiohttp app (baseline)", baseline, base))
    print(describe("Emulator (async tests)", loop_samples, base))
    print(describe("EmulatorThread (sync tests)", thread_samples, base))
    worst = max(statistics.median(loop_samples), statistics.median(thread_samples))
    print(f"500 tests pay about {worst * 500 / 1000:.1f} s for fresh emulators")


if __name__ == "__main__":
    main()
