"""What ``python -m emulator serve`` does to start sooner must not outlive the start: the collector, turned
off while modules load, is on again once the emulator listens."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import asyncio, gc, os, signal, sys
import emulator.cli as cli

info = cli.log.info

def on_info(message, *args):
    info(message, *args)
    if message.startswith("listening"):
        def report():
            print("collector on:", gc.isenabled(), flush=True)
            os.kill(os.getpid(), signal.SIGINT)
        asyncio.get_running_loop().call_soon(report)

cli.log.info = on_info
sys.argv = ["emulator", "serve", "--port", "0", "--clock", "manual"]
import runpy
runpy.run_module("emulator", run_name="__main__")
"""


def test_the_collector_is_on_again_once_serve_listens() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False)
    assert "collector on: True" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
