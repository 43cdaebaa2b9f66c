"""Command line: ``python -m emulator serve`` (also the ``graph-presence-emulator`` script)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from emulator import __version__, log_format, tls
from emulator.app import create_app
from emulator.graph.pipeline import PIPELINE
from emulator.log_format import AccessLogger
from emulator.runtime import Runtime
from emulator.scenarios.cache import load_cached
from emulator.scenarios.errors import ScenarioError
from emulator.scenarios.install import use_scenario
from emulator.scenarios.sources import default_source, read_source
from emulator.scenarios.timeline import Scenario
from emulator.tenant import TenantSettings
from emulator.tls import TLSFiles
from emulator.traffic.journal import DEFAULT_CAPACITY, JournalSettings
from emulator.traffic.throttle import ThrottleSettings, parse_throttle_flag

log = logging.getLogger("emulator.serve")
# How long Ctrl-C waits for requests in flight before cutting them off.
SHUTDOWN_SECONDS = 10.0


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _throttle(text: str) -> ThrottleSettings:
    try:
        return parse_throttle_flag(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _journal_size(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 0 and 1000000")
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
    serve.add_argument("--throttle", type=_throttle, default=None, metavar="1500|10000|N/SECONDS",
                       help="throttle each application: a Microsoft preset (per 30 s) or N requests per SECONDS "
                            "(default off; also POST /_emulator/throttling)")
    serve.add_argument("--journal-size", type=_journal_size, default=None, metavar="N",
                       help=f"requests the journal keeps (default {DEFAULT_CAPACITY}; 0 turns it off)")
    serve.add_argument("--auth", choices=("off", "decode", "strict"), default="off",
                       help="off: tokens only name /me's user (default); decode: tokens read, not verified; "
                            "strict: tokens verified and scopes checked (see docs/auth-and-batch.md)")
    serve.add_argument("--access-log", action="store_true", help="log every request (off: it halves throughput)")
    serve.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="text for a terminal (default), json for one object a line")
    serve.add_argument("--tls", action="store_true",
                       help="serve https with a local CA made once in the user cache folder (see --tls-cert)")
    serve.add_argument("--tls-cert", metavar="PEM", help="serve https with this certificate (needs --tls-key)")
    serve.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument("--scenario", action="append", metavar="FILE", default=None,
                       help="play this scenario file (repeatable: files are merged); "
                            "default: the bundled office day, scenarios/default.yaml")

    validate = commands.add_parser("validate", help="check scenario files without serving (exit 0 when valid)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--merge", action="store_true",
                          help="check the files merged into one scenario, as serve --scenario A --scenario B does")
    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    return parser


def settings_from_args(args: argparse.Namespace) -> TenantSettings:
    if args.speed is not None and args.clock == "manual":
        raise SystemExit("--speed and --clock manual contradict each other: a manual clock does not run")
    traffic: dict[str, Any] = {}
    if getattr(args, "throttle", None) is not None:
        traffic["throttle"] = args.throttle
    if getattr(args, "journal_size", None) is not None:
        traffic["journal"] = JournalSettings(capacity=args.journal_size)
    if args.speed is not None:
        return TenantSettings(clock_mode="speed", speed=args.speed, auth=args.auth, **traffic)
    return TenantSettings(clock_mode=args.clock or "real", auth=args.auth, **traffic)


def tls_from_args(args: argparse.Namespace) -> TLSFiles | None:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise SystemExit("--tls-cert and --tls-key go together")
    if args.tls_cert is not None:
        try:
            return tls.given(args.tls_cert, args.tls_key)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
    return tls.local_ca() if args.tls else None


def banner(base: str, runtime: Runtime, tls_files: TLSFiles | None = None) -> str:
    clock = runtime.tenant.clock
    clock_text = clock.mode if clock.mode != "speed" else f"speed x{clock.speed:g}"
    lines = [
        f"Graph presence emulator {__version__} listening on {base}",
        f"  Graph v1.0     {base}/v1.0",
        f"  Graph beta     {base}/beta",
        f"  Control plane  {base}/_emulator/  (health, state, clock, reset, requests, faults, throttling)",
        f"  Dashboard      {base}/_emulator/ui",
        f"  Auth           {runtime.settings.auth}  (tokens: POST {base}/_emulator/token, keys: {base}/_emulator/jwks)",
        f"  Clock          {clock_text}, now {clock.now().isoformat(timespec='seconds')}",
        f"  Scenario       {scenario_text(runtime)}  (timeline: {base}/_emulator/timeline)",
    ]
    if tls_files is not None:
        ca = tls_files.ca or tls_files.cert
        lines += [
            f"  CA file        {ca}",
            f"                 trust it: SSL_CERT_FILE={ca} (Go, curl), NODE_EXTRA_CA_CERTS={ca} (Node.js)",
            "  msgraph-sdk (Python):",
            "    http = GraphClientFactory.create_with_default_middleware(",
            f"        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=\"{ca}\")))",
            "    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider(), client=http)",
        ]
    else:
        lines += [
            "  msgraph-sdk (Python):",
            "    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())",
        ]
    lines += [
        f"    adapter.base_url = \"{base}/v1.0\"",
        "    client = GraphServiceClient(request_adapter=adapter)",
        "Press Ctrl-C to stop (requests in flight are finished first).",
    ]
    return "\n".join(lines)


def load_request_models() -> None:
    """Import and build the request body models (pydantic), which ``serve`` leaves out of its start."""
    from emulator.graph import bodies

    bodies.SetPresenceBody.model_rebuild()
    bodies.GetPresencesBody.model_rebuild()


def load_scenario_or_exit(files: Sequence[str] | None) -> Scenario:
    """The scenario to serve, validated (or as validated before: emulator/scenarios/cache.py)."""
    try:
        return load_cached([read_source(name) for name in files] if files else [default_source()])
    except ScenarioError as exc:
        raise SystemExit(f"{exc}\nThe scenario is not valid: nothing was served.") from None


def scenario_text(runtime: Runtime) -> str:
    scenario = runtime.tenant.timeline.scenario
    if scenario is None:
        return "none"
    return f"{', '.join(scenario.sources)}: {len(scenario.users)} users, {len(scenario.plan)} events"


def validate(files: Sequence[str], *, merge: bool = False) -> int:
    """Check each file as a scenario of its own, or (``merge``) all of them as one; 0 when valid, else 1."""
    from emulator.scenarios.loader import load_scenarios

    failed = False
    for group in ([list(files)] if merge else [[name] for name in files]):
        try:
            scenario = load_scenarios(group)
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            failed = True
        else:
            print(f"{' + '.join(group)}: valid ({len(scenario.users)} users, {len(scenario.plan)} events)")
    return 1 if failed else 0


async def serve(args: argparse.Namespace) -> None:
    scenario = load_scenario_or_exit(args.scenario)
    runtime = Runtime(settings_from_args(args))
    tls_files = tls_from_args(args)
    app = create_app(runtime)  # first, so that what the app hooks onto each tenant sees the scenario from its start
    use_scenario(runtime, scenario, clock_mode=args.clock, speed=args.speed)
    pipeline = app[PIPELINE]
    runner = web.AppRunner(app, access_log=logging.getLogger("aiohttp.access") if args.access_log else None,
                           access_log_class=AccessLogger, handle_signals=False, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port,
                       ssl_context=tls_files.server_context() if tls_files else None)
    await site.start()
    port = args.port
    if runner.addresses:
        port = runner.addresses[0][1]
    wildcard = args.host in ("0.0.0.0", "::")
    host = "127.0.0.1" if wildcard else args.host
    base = f"{'https' if tls_files else 'http'}://{host}:{port}"
    text = banner(base, runtime, tls_files)
    if wildcard:  # e.g. in a container: say so, or the 127.0.0.1 URLs mislead
        text = text.replace("\n", f"\n  (listening on all interfaces, {args.host}:{port})\n", 1)
    print(text, flush=True)
    log.info("listening on %s", base)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Serving needs no pydantic until a request has a body to validate; load it now, beside the loop, so that
    # the first setPresence does not wait for it (about 70 ms).
    warm_up = loop.run_in_executor(None, load_request_models)

    def on_signal() -> None:
        if stop.is_set():  # a second Ctrl-C: stop waiting for requests in flight
            raise SystemExit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):  # a failure would show again at the first request with a body
            await warm_up
        print(f"Shutting down: finishing {pipeline.in_flight} request(s) in flight.", flush=True)
        await site.stop()  # stop accepting connections; those open carry on
        if not await pipeline.wait_idle(SHUTDOWN_SECONDS):
            log.warning("gave up on %d request(s) after %g s", pipeline.in_flight, SHUTDOWN_SECONDS)
        await runner.cleanup()
        log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_format.configure(getattr(args, "log_format", "text"))
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
        return 0
    if args.command == "validate":
        return validate(args.files, merge=args.merge)
    if args.command == "schema":
        from emulator.scenarios.model import json_schema

        print(json.dumps(json_schema(), indent=2))
        return 0
    return 2
