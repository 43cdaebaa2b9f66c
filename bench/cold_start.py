"""Cold start: from launching ``serve`` to its first 200, against a bare aiohttp app's in the same run.

Target (issue 5): within 1.5x of the bare app. Runs alternate between the two so that machine load falls on
both alike; each run is a fresh interpreter polling ``GET /_emulator/health`` (``GET /`` for the bare app)
every 2 ms.

Like for like: aiohttp's bytecode was compiled when pip installed it, and an installed emulator's would be too,
but a work tree run with PYTHONDONTWRITEBYTECODE=1 (as here) compiles every emulator module from source at each
start (60-80 ms). So the package's bytecode is compiled first, as an install does; ``--from-source`` skips that.

``serve`` reads its scenario from a cache in the user cache folder once any start has validated it
(emulator/scenarios/cache.py): the runs share a temporary cache folder that one unmeasured start fills first, as
a user's first ``serve`` does. ``--no-cache`` gives each run an empty folder: every start validates in full.

    python -m bench.cold_start [--runs 15] [--from-source] [--no-cache]
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BARE_APP = """
import sys
from aiohttp import web
async def ok(request):
    return web.Response(text="ok")
app = web.Application()
app.router.add_get("/", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_200(command: list[str], port: int, path: str, timeout: float = 30.0,
              env: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while time.perf_counter() - began < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    return time.perf_counter() - began
            except OSError:
                time.sleep(0.002)
            finally:
                conn.close()
        raise RuntimeError(f"{command} gave no 200 within {timeout} s")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--from-source", action="store_true",
                        help="leave the emulator's bytecode uncompiled (measures the source compile too)")
    parser.add_argument("--no-cache", action="store_true",
                        help="an empty scenario cache for every run (each start validates the scenario in full)")
    options = parser.parse_args()
    runs = options.runs
    if not options.from_source:
        import emulator

        compileall.compile_dir(emulator.__path__[0], quiet=1)
    with tempfile.TemporaryDirectory() as scratch:
        bare, serve = measure(runs, scratch, fresh_cache=options.no_cache)
    b, s = statistics.median(bare), statistics.median(serve)
    spread = max(statistics.quantiles(bare, n=4)[2] - statistics.quantiles(bare, n=4)[0],
                 statistics.quantiles(serve, n=4)[2] - statistics.quantiles(serve, n=4)[0])
    ratios = statistics.quantiles([x / y for x, y in zip(serve, bare, strict=True)], n=4)
    print(f"cold start to first 200, {runs} alternating runs each (target: serve within 1.5x of bare aiohttp)"
          + (", emulator compiled from source at each start" if options.from_source else "")
          + (", scenario validated at each start (empty cache)" if options.no_cache else ""))
    print(f"bare aiohttp app   median {b * 1000:7.1f} ms")
    print(f"emulator serve     median {s * 1000:7.1f} ms   x{s / b:.2f} of bare aiohttp")
    print(f"noise: the larger interquartile range was {spread * 1000:.1f} ms; the ratio within each pair of runs "
          f"had quartiles x{ratios[0]:.2f}-x{ratios[2]:.2f}")


def measure(runs: int, scratch: str, *, fresh_cache: bool) -> tuple[list[float], list[float]]:
    """Each run's seconds to the first 200, for the bare app and for serve, alternating."""
    def serve_env(run: int) -> dict[str, str]:
        return {**os.environ, "XDG_CACHE_HOME": os.path.join(scratch, str(run) if fresh_cache else "shared")}

    def serve_once(run: int) -> float:
        port = free_port()
        return first_200([sys.executable, "-m", "emulator", "serve", "--port", str(port)], port,
                         "/_emulator/health", env=serve_env(run))

    def bare_once() -> float:
        port = free_port()
        return first_200([sys.executable, "-c", BARE_APP, str(port)], port, "/")

    bare_once(), serve_once(-1)  # unmeasured: warms the file cache for both, and fills serve's scenario cache
    bare: list[float] = []
    serve: list[float] = []
    for run in range(runs):
        bare.append(bare_once())
        serve.append(serve_once(run))
    return bare, serve


if __name__ == "__main__":
    main()
