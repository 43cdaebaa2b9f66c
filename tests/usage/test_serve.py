"""``serve`` as a user runs it: a subprocess, its banner, JSON logs, https, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.cli import build_parser, tls_from_args

BANNER_TIMEOUT = 20.0


class Server:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.banner: list[str] = []
        self.base_url = ""
        self.out: queue.Queue[str] = queue.Queue()
        # A thread reads stdout: the banner is read line by line with a deadline, the rest kept for the test.
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.put(line.rstrip("\n"))
        self.out.put("")

    def wait_for_banner(self) -> None:
        deadline = time.monotonic() + BANNER_TIMEOUT
        while True:
            try:
                line = self.out.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if not line:
                self.proc.kill()
                raise AssertionError(f"no banner: {self.banner} {self.proc.communicate()[1]}")
            self.banner.append(line)
            if line.startswith("Press Ctrl-C"):
                match = re.search(r"listening on (\S+)", self.banner[0])
                assert match, self.banner
                self.base_url = match.group(1)
                return

    def rest_of_output(self) -> str:
        lines = []
        while (line := self.out.get(timeout=BANNER_TIMEOUT)) != "" or not self.out.empty():
            lines.append(line)
        return "\n".join(lines)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[Server] = []

    def start(*args: str) -> Server:
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        server = Server(proc)
        started.append(server)
        server.wait_for_banner()
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
        server.proc.wait()
        for stream in (server.proc.stdout, server.proc.stderr):
            if stream is not None:
                stream.close()


def test_ctrl_c_finishes_the_request_in_flight_then_exits(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve("--clock", "manual", "--log-format", "json", "--access-log")
    assert server.base_url.startswith("http://127.0.0.1:")
    assert any(f'adapter.base_url = "{server.base_url}/v1.0"' in line for line in server.banner)
    host, port = server.base_url.removeprefix("http://").split(":")
    # A request whose handler is running (it waits for the rest of the body) when Ctrl-C arrives.
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                     b"Content-Type: text/plain\r\n\r\nPT")
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert server.proc.poll() is None  # still finishing the request
        with pytest.raises(ConnectionRefusedError):  # but taking no new ones
            socket.create_connection((host, int(port)), timeout=5).close()
        conn.sendall(b"5M")
        response = conn.recv(65536).decode()
    assert response.startswith("HTTP/1.1 200"), response
    assert server.proc.wait(timeout=15) == 0
    assert "Shutting down" in server.rest_of_output()
    assert server.proc.stderr is not None
    err = server.proc.stderr.read()
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    [access] = [r for r in records if r["logger"] == "aiohttp.access"]
    assert (access["method"], access["path"], access["status"]) == ("POST", "/_emulator/clock/advance", 200)
    assert access["requestId"]
    assert records[-1]["message"] == "stopped"


def test_tls_serves_https_and_prints_where_the_ca_is(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve("--tls")
    ca = tmp_path / "graph-presence-emulator" / "ca.pem"
    assert server.base_url.startswith("https://127.0.0.1:")
    assert any(line.split() == ["CA", "file", str(ca)] for line in server.banner), server.banner
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"{server.base_url}/_emulator/health", context=context, timeout=10) as resp:
        assert json.load(resp)["status"] == "ok"
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=15) == 0


def test_bad_tls_options_are_refused_before_serving(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--tls-cert and --tls-key go together"):
        tls_from_args(build_parser().parse_args(["serve", "--tls-cert", "x.pem"]))
    with pytest.raises(SystemExit, match="cannot use certificate"):
        tls_from_args(build_parser().parse_args(["serve", "--tls-cert", str(tmp_path / "no.pem"),
                                                 "--tls-key", str(tmp_path / "k.pem")]))
