"""Builds the aiohttp application: one pipeline, the Graph routes, the control plane, one runtime."""

from __future__ import annotations

from aiohttp import web

from emulator.control import auth_routes as control_auth_routes
from emulator.control import notification_routes, scenario_routes, traffic_routes
from emulator.control import routes as control_routes
from emulator.control import users as control_users
from emulator.dashboard import routes as dashboard_routes
from emulator.delivery.attach import TransportAttachment
from emulator.graph import batch_routes, presence_routes, subscription_routes
from emulator.graph.pipeline import graph_pipeline
from emulator.openapi import document as openapi_document
from emulator.runtime import RUNTIME, Runtime
from emulator.tenant import TenantSettings

MAX_BODY_BYTES = 4 * 1024 * 1024


def create_app(runtime: Runtime | None = None, *, settings: TenantSettings | None = None) -> web.Application:
    runtime = runtime or Runtime(settings)
    app = web.Application(middlewares=[graph_pipeline], client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    presence_routes.add_routes(app)
    batch_routes.add_routes(app)
    control_routes.add_routes(app)
    control_users.add_routes(app)
    dashboard_routes.add_routes(app)
    traffic_routes.add_routes(app)
    scenario_routes.add_routes(app)
    control_auth_routes.add_routes(app)
    openapi_document.add_routes(app)
    subscription_routes.add_routes(app)
    notification_routes.add_routes(app)
    webhooks = TransportAttachment()
    runtime.install(webhooks)

    async def start_clock(_app: web.Application) -> None:
        runtime.start()

    async def stop_clock(_app: web.Application) -> None:
        runtime.stop()
        await webhooks.close()

    app.on_startup.append(start_clock)
    app.on_cleanup.append(stop_clock)
    return app
