"""Command line: ``python -m emulator serve`` (also the ``graph-presence-emulator`` script)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from emulator import __version__
from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graph-presence-emulator",
                                     description="A local emulator of Microsoft Graph presence.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulator as an HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks one)")
    serve.add_argument("--clock", choices=("real", "manual"), default=None,
                       help="real: emulated time follows the wall clock (default); "
                            "manual: it moves only through POST /_emulator/clock/advance")
    serve.add_argument("--speed", type=_positive_float, default=None,
                       help="emulated seconds per real second (implies a running clock)")
    serve.add_argument("--access-log", action="store_true", help="log every request (off: it halves throughput)")
    return parser


def settings_from_args(args: argparse.Namespace) -> TenantSettings:
    if args.speed is not None and args.clock == "manual":
        raise SystemExit("--speed and --clock manual contradict each other: a manual clock does not run")
    if args.speed is not None:
        return TenantSettings(clock_mode="speed", speed=args.speed)
    return TenantSettings(clock_mode=args.clock or "real")


def banner(base: str, runtime: Runtime) -> str:
    clock = runtime.tenant.clock
    clock_text = clock.mode if clock.mode != "speed" else f"speed x{clock.speed:g}"
    return "\n".join([
        f"Graph presence emulator {__version__} listening on {base}",
        f"  Graph v1.0     {base}/v1.0",
        f"  Graph beta     {base}/beta",
        f"  Control plane  {base}/_emulator/  (health, state, clock, reset)",
        f"  Dashboard      {base}/_emulator/ui",
        f"  Clock          {clock_text}, now {clock.now().isoformat(timespec='seconds')}",
        "  msgraph-sdk:   adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())",
        f"                 adapter.base_url = \"{base}/v1.0\"; client = GraphServiceClient(request_adapter=adapter)",
        "Press Ctrl-C to stop.",
    ])


async def serve(args: argparse.Namespace) -> None:
    runtime = Runtime(settings_from_args(args))
    app = create_app(runtime)
    runner = web.AppRunner(app, access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
                           handle_signals=False, shutdown_timeout=10.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = args.port
    if runner.addresses:
        port = runner.addresses[0][1]
    host = args.host if args.host not in ("0.0.0.0", "::") else "127.0.0.1"
    print(banner(f"http://{host}:{port}", runtime), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("Shutting down: finishing requests in flight.", flush=True)
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
        return 0
    return 2
