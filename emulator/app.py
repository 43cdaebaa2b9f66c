"""Builds the aiohttp application: the Graph routes and the control plane, each in the one pipeline, over one
runtime."""

from __future__ import annotations

from aiohttp import web

from emulator.control import auth_routes as control_auth_routes
from emulator.control import notification_routes, scenario_routes, traffic_routes
from emulator.control import routes as control_routes
from emulator.control import users as control_users
from emulator.dashboard import routes as dashboard_routes
from emulator.delivery.attach import TransportAttachment
from emulator.graph import batch_routes, presence_routes, subscription_routes
from emulator.graph.pipeline import PIPELINE, Pipeline, Routes
from emulator.openapi import document as openapi_document
from emulator.runtime import RUNTIME, Runtime
from emulator.tenant import TenantSettings

MAX_BODY_BYTES = 4 * 1024 * 1024


def create_app(runtime: Runtime | None = None, *, settings: TenantSettings | None = None) -> web.Application:
    runtime = runtime or Runtime(settings)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    app[PIPELINE] = pipeline = Pipeline(runtime)
    routes = Routes(app, pipeline)
    presence_routes.add_routes(routes)
    batch_routes.add_routes(routes)
    control_routes.add_routes(routes)
    control_users.add_routes(routes)
    dashboard_routes.add_routes(routes)
    traffic_routes.add_routes(routes)
    scenario_routes.add_routes(routes)
    control_auth_routes.add_routes(routes)
    openapi_document.add_routes(routes)
    subscription_routes.add_routes(routes)
    notification_routes.add_routes(routes)
    routes.add_unmatched()  # last: it matches any path
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
