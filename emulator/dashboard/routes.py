"""The dashboard's HTTP side: the page and its assets at ``/_emulator/ui``, the live feed at ``/_emulator/events``."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from emulator.control.routes import PREFIX
from emulator.dashboard.feed import DashboardFeed
from emulator.graph.pipeline import Routes
from emulator.runtime import RUNTIME

FEED = web.AppKey("dashboard_feed", DashboardFeed)

# The assets shipped in the package (package data), by the name the page asks for.
ASSETS: dict[str, str] = {
    "index.html": "text/html",
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
# A comment line now and then keeps proxies and the browser from giving up on a quiet stream.
KEEPALIVE_SECONDS = 15.0


def _asset(name: str) -> bytes:
    from importlib import resources  # on the first page request: its imports cost serve's start 2-3 ms

    return resources.files("emulator.dashboard").joinpath("static", name).read_bytes()


async def page(request: web.Request) -> web.Response:
    return _asset_response("index.html")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return _asset_response(name)


def _asset_response(name: str) -> web.Response:
    # no-cache: the page is revalidated on every load, so an upgraded emulator never serves a stale script.
    return web.Response(body=_asset(name), content_type=ASSETS[name], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a ``snapshot`` first, then ``users`` and ``clock`` events as things change."""
    feed = request.app[FEED]
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    viewer = feed.open()
    try:
        await response.write(b"retry: 1000\n\n")
        while not viewer.closed:
            if viewer.needs_snapshot:
                viewer.needs_snapshot = False
                viewer.take()
                await response.write(feed.snapshot())
                continue
            messages = viewer.take()
            if messages:
                await response.write(b"".join(messages))
                continue
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    await viewer.wake.wait()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        feed.close(viewer)
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


def add_routes(routes: Routes) -> None:
    app = routes.app
    feed = DashboardFeed(app[RUNTIME])
    app[FEED] = feed
    routes.add_get(f"{PREFIX}/ui", page)
    routes.add_get(f"{PREFIX}/ui/", page)
    routes.add_get(f"{PREFIX}/ui/{{name}}", asset)
    routes.add_get(f"{PREFIX}/events", events)

    async def close_streams(_app: web.Application) -> None:
        # Open event streams would otherwise hold up a graceful shutdown until its timeout.
        await feed.stop()

    app.on_shutdown.append(close_streams)
