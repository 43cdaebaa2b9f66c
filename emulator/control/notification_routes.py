"""Control plane for notifications: the delivery log, every subscription, endpoints, on-demand lifecycle
events. (The key that validates rich notifications' validationTokens is the emulator's: ``/_emulator/jwks``.)"""

from __future__ import annotations

import orjson
from aiohttp import web

from emulator.clock import format_graph_datetime
from emulator.graph import errors, requests
from emulator.graph.pipeline import Routes, json_response
from emulator.graph.subscription_routes import graph_errors, subscription_dict
from emulator.runtime import RUNTIME
from emulator.tenant import Tenant

PREFIX = "/_emulator"
FILTERS = {"subscriptionId": "subscription_id", "url": "url", "status": "status", "kind": "kind"}


def _tenant(request: web.Request) -> Tenant:
    return request.app[RUNTIME].tenant


async def list_deliveries(request: web.Request) -> web.Response:
    """Every attempt, oldest first; filter with ?subscriptionId=&url=&status=&kind=."""
    unknown = set(request.query) - set(FILTERS)
    if unknown:
        raise errors.invalid_argument(f"Unknown filter '{sorted(unknown)[0]}'; use {', '.join(FILTERS)}.")
    criteria = {FILTERS[k]: v for k, v in request.query.items()}
    records = _tenant(request).delivery.log.query(**criteria)
    return json_response(orjson.dumps({"count": len(records), "value": [r.to_dict() for r in records]}))


async def clear_deliveries(request: web.Request) -> web.Response:
    _tenant(request).delivery.log.clear()
    return web.Response(status=204)


async def list_endpoints(request: web.Request) -> web.Response:
    """Each notification URL's queue and slow/drop standing."""
    endpoints = _tenant(request).delivery.endpoints.values()
    return json_response(orjson.dumps({"value": [{
        "url": e.url,
        "state": e.state,
        "penaltyUntil": format_graph_datetime(e.penalty_until) if e.state != "healthy" else None,
        "queued": len(e.ready),
        "inFlight": e.task is not None and not e.task.done(),
        "samplesInWindow": len(e.samples),
    } for e in endpoints]}))


async def list_subscriptions(request: web.Request) -> web.Response:
    """Every subscription of every app, clientState included."""
    found = _tenant(request).subscriptions.find()
    return json_response(orjson.dumps({"value": [subscription_dict(s) for s in found]}))


async def send_lifecycle(request: web.Request) -> web.Response:
    """``{"lifecycleEvent": "missed"|"subscriptionRemoved"|"reauthorizationRequired", "remove": bool}``."""
    from emulator.control import bodies  # pydantic, on first use

    body = requests.parse_body(bodies.LifecycleBody, await request.read())
    with graph_errors():
        subscription = _tenant(request).subscriptions.send_lifecycle(request.match_info["id"], body.lifecycleEvent,
                                                                     remove=body.remove)
    return json_response(orjson.dumps({"subscriptionId": subscription.id, "lifecycleEvent": body.lifecycleEvent}),
                         202)


def add_routes(routes: Routes) -> None:
    routes.add_get(f"{PREFIX}/deliveries", list_deliveries)
    routes.add_delete(f"{PREFIX}/deliveries", clear_deliveries)
    routes.add_get(f"{PREFIX}/endpoints", list_endpoints)
    routes.add_get(f"{PREFIX}/subscriptions", list_subscriptions)
    routes.add_post(PREFIX + "/subscriptions/{id}/lifecycle", send_lifecycle)
