"""Fixture cost: start plus teardown of a fresh in-process emulator, as the pytest plugin pays it per test.

Target (issue 5): under 50 ms median, so that 500 tests that each get a fresh emulator pay under 25 s. Measured
for both forms the fixture uses (``Emulator`` in the test's loop, ``EmulatorThread`` for plain tests), beside a
bare aiohttp app's start plus teardown in the same run as the baseline.

It also runs pytest itself on N generated tests that take the fixture, against N that take none, and
reports the difference per test: the cost a suite really pays, plugin and fixture machinery included.

    python -m bench.fixture_bench [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

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


PYTEST_INI = '[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n'
TEST_BODIES = {
    "empty_sync": "def test_{i}():\n    pass\n",
    "empty_async": "async def test_{i}():\n    pass\n",
    "fixture_sync": "def test_{i}(graph_emulator):\n    graph_emulator.advance(1)\n",
    "fixture_async": "async def test_{i}(graph_emulator):\n    graph_emulator.advance(1)\n",
}


def pytest_seconds(kind: str, runs: int) -> float:
    """Wall time of a pytest run of ``runs`` generated tests of one kind (median of three)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pytest.ini").write_text(PYTEST_INI)
        # Both kinds import the emulator, a once-per-session cost, so the difference is the per-test one.
        header = "import emulator.embedded\nimport emulator.receiver\n\n"
        tests = "\n".join(TEST_BODIES[kind].format(i=i) for i in range(runs))
        (root / f"test_{kind}.py").write_text(header + tests)
        times = []
        for _ in range(3):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
                           cwd=root, check=True, capture_output=True)
            times.append(time.perf_counter() - began)
        return statistics.median(times)


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
    print(f"through pytest, {runs} generated tests per run (median of 3 runs), extra time per test:")
    for form in ("sync", "async"):
        extra = (pytest_seconds(f"fixture_{form}", runs) - pytest_seconds(f"empty_{form}", runs)) / runs * 1000
        print(f"  graph_emulator in {form} tests: {extra:6.2f} ms  (500 tests: {extra * 500 / 1000:.1f} s)")


if __name__ == "__main__":
    main()
