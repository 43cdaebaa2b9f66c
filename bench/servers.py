"""The two servers the throughput benchmark compares, each run in its own process.

``baseline``: a bare aiohttp app (access log off) that does the least any server answering these requests
must do: a constant presence body for a read, ``orjson`` over prebuilt presence dicts for the bulk read,
parse the JSON body and answer 200 for ``setPresence``.

``emulator``: the emulator's own app, served as ``python -m emulator serve`` serves it (access log off, the
request journal at its default size unless ``--journal-size`` says otherwise), with ``--users`` users that each
have one application session. Its clock is manual, so nothing fades or expires
while it is being measured and every round sees the same state.

Run one: ``python -m bench.servers baseline|emulator --users 10000 [--port 0]``; it prints
``listening on <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import orjson
from aiohttp import web

SESSION_ID = "bench-session"
JSON = "application/json; charset=utf-8"
USER_ID_FORMAT = "00000000-0000-4000-8000-{:012x}"


def user_id(index: int) -> str:
    """The benchmark's users are numbered; the wrk scripts build the same ids from the same numbers."""
    return USER_ID_FORMAT.format(index)


def presence_dict(uid: str) -> dict[str, Any]:
    """A presence resource of the shape the emulator answers with."""
    return {
        "id": uid,
        "availability": "Available",
        "activity": "Available",
        "statusMessage": None,
        "outOfOfficeSettings": {"message": None, "isOutOfOffice": False},
        "workLocation": {"workLocationType": "unspecified", "source": "none", "placeId": None},
        "sequenceNumber": "A0000000001",
    }


def baseline_app(users: int) -> web.Application:
    uid = user_id(0)
    single = orjson.dumps({
        "@odata.context": f"http://127.0.0.1/v1.0/$metadata#users('{uid}')/presence/$entity",
        **presence_dict(uid),
    })
    prebuilt = {user_id(i): presence_dict(user_id(i)) for i in range(users)}
    collection = "http://127.0.0.1/v1.0/$metadata#Collection(microsoft.graph.presence)"

    async def get_presence(request: web.Request) -> web.Response:
        return web.Response(body=single, headers={"Content-Type": JSON})

    async def get_presences(request: web.Request) -> web.Response:
        ids = orjson.loads(await request.read())["ids"]
        value = [prebuilt[i] for i in ids]
        return web.Response(body=orjson.dumps({"@odata.context": collection, "value": value}),
                            headers={"Content-Type": JSON})

    async def set_presence(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/v1.0/users/{id}/presence", get_presence, allow_head=False)
    app.router.add_post("/v1.0/communications/getPresencesByUserId", get_presences)
    app.router.add_post("/v1.0/users/{id}/presence/setPresence", set_presence)
    return app


def emulator_app(users: int, journal_size: int | None = None) -> web.Application:
    """The emulator as ``serve`` builds it; ``journal_size`` as ``serve --journal-size`` (None: its default)."""
    from emulator.app import create_app
    from emulator.runtime import Runtime
    from emulator.tenant import TenantSettings
    from emulator.traffic.journal import JournalSettings

    settings = TenantSettings(clock_mode="manual")
    if journal_size is not None:
        settings = TenantSettings(clock_mode="manual", journal=JournalSettings(capacity=journal_size))
    runtime = Runtime(settings)
    directory = runtime.tenant.presence
    for i in range(users):
        directory.set_session(user_id(i), SESSION_ID, "Available", "Available", expires_in=4 * 3600)
    return create_app(runtime)


async def serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"listening on {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("baseline", "emulator"))
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--journal-size", type=int, default=None,
                        help="emulator only: requests its journal keeps (default: serve's default; 0 turns it off)")
    args = parser.parse_args(argv)
    app = baseline_app(args.users) if args.kind == "baseline" else emulator_app(args.users, args.journal_size)
    asyncio.run(serve(app, args.host, args.port))


if __name__ == "__main__":
    main()
