"""Cold start: from launching ``serve`` to its first 200, against a bare aiohttp app's in the same run.

Target (issue 5): within 1.5x of the bare app. Runs alternate between the two so that machine load falls on
both alike; each run is a fresh interpreter polling ``GET /_emulator/health`` (``GET /`` for the bare app)
every 2 ms.

    python -m bench.cold_start [--runs 15]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
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


def first_200(command: list[str], port: int, path: str, timeout: float = 30.0) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    runs = parser.parse_args().runs
    bare: list[float] = []
    serve: list[float] = []
    for _ in range(runs):
        port = free_port()
        bare.append(first_200([sys.executable, "-c", BARE_APP, str(port)], port, "/"))
        port = free_port()
        serve.append(first_200([sys.executable, "-m", "emulator", "serve", "--port", str(port)], port,
                               "/_emulator/health"))
    b, s = statistics.median(bare), statistics.median(serve)
    spread = max(statistics.quantiles(bare, n=4)[2] - statistics.quantiles(bare, n=4)[0],
                 statistics.quantiles(serve, n=4)[2] - statistics.quantiles(serve, n=4)[0])
    print(f"cold start to first 200, {runs} alternating runs each (target: serve within 1.5x of bare aiohttp)")
    print(f"bare aiohttp app   median {b * 1000:7.1f} ms")
    print(f"emulator serve     median {s * 1000:7.1f} ms   x{s / b:.2f} of bare aiohttp")
    print(f"noise: the larger interquartile range was {spread * 1000:.1f} ms")


if __name__ == "__main__":
    main()
