"""Builds the aiohttp application: one pipeline, the Graph routes, the control plane, one runtime."""

from __future__ import annotations

from aiohttp import web

from emulator.control import routes as control_routes
from emulator.control import users as control_users
from emulator.dashboard import routes as dashboard_routes
from emulator.graph import presence_routes
from emulator.graph.pipeline import graph_pipeline
from emulator.runtime import RUNTIME, Runtime
from emulator.tenant import TenantSettings

MAX_BODY_BYTES = 4 * 1024 * 1024


def create_app(runtime: Runtime | None = None, *, settings: TenantSettings | None = None) -> web.Application:
    runtime = runtime or Runtime(settings)
    app = web.Application(middlewares=[graph_pipeline], client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    presence_routes.add_routes(app)
    control_routes.add_routes(app)
    control_users.add_routes(app)
    dashboard_routes.add_routes(app)

    async def start_clock(_app: web.Application) -> None:
        runtime.start()

    async def stop_clock(_app: web.Application) -> None:
        runtime.stop()

    app.on_startup.append(start_clock)
    app.on_cleanup.append(stop_clock)
    return app
