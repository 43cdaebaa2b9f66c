"""Builds the OpenAPI 3.1 document from the application's own routes and the table in ``operations.py``.

Walking the router means the document lists exactly what is served; a route with no row is left out of
the document and reported by ``unregistered_routes`` (a test asserts there are none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from emulator import __version__
from emulator.graph.permissions import route_key
from emulator.graph.pipeline import Routes, json_response

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.json_schema import JsonSchemaMode

    from emulator.openapi.operations import Operation

    Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]

# The operation table and its pydantic schemas are imported where the document is built, on its first request:
# building those models would add a tenth of a second to every cold start of serve.

PATH = "/_emulator/openapi.json"
_PARAMETER = re.compile(r"\{([^}]+)\}")
_DOCUMENT = web.AppKey("openapi_document", list)
# Path parameters by name. Graph's ids are GUIDs (users may also be addressed by userPrincipalName).
PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "minLength": 1}]},
}
_DEFAULT_PARAMETER: dict[str, Any] = {"type": "string", "minLength": 1}


def _routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "*"):
            continue
        found.append((route.method, resource.canonical))
    return found


def unregistered_routes(app: web.Application) -> list[str]:
    from emulator.openapi.operations import OPERATIONS

    return [f"{method} {path}" for method, path in _routes(app) if route_key(method, path) not in OPERATIONS]


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    from emulator.openapi import schemas
    from emulator.openapi.operations import OPERATIONS

    seen: set[tuple[type[BaseModel], JsonSchemaMode]] = {(schemas.ErrorResponse, "serialization")}
    for op in OPERATIONS.values():
        if op.response is not None:
            seen.add((op.response, "serialization"))
        if op.body is not None:
            seen.add((op.body, "validation"))
    return sorted(seen, key=lambda pair: (pair[0].__name__, pair[1]))


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _success(op: Operation, refs: Refs) -> dict[str, Any]:
    if op.response is not None:
        return {"description": "Success", "content": _json(refs[(op.response, "serialization")])}
    if op.media_type != "application/json":
        return {"description": "Success", "content": {op.media_type: {"schema": {"type": "string"}}}}
    return {"description": "Success"}


def _operation(op: Operation, method: str, path: str, refs: Refs) -> dict[str, Any]:
    from emulator.openapi import schemas

    graph = path.startswith(("/v1.0/", "/beta/"))
    version = path.split("/", 2)[1] if graph else None
    operation_id = re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()}{path}").strip("_")
    result: dict[str, Any] = {
        "summary": op.summary + (f" [{version}]" if version else ""),
        "tags": [op.tag],
        "operationId": operation_id,
        "responses": {
            str(op.status): _success(op, refs),
            "default": {"description": "A Graph error envelope",
                        "content": _json(refs[(schemas.ErrorResponse, "serialization")])},
        },
    }
    if op.description:
        result["description"] = op.description
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": PARAMETER_SCHEMAS.get(name, _DEFAULT_PARAMETER)}
                  for name in _PARAMETER.findall(path)]
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        content = _json(refs[(op.body, "validation")])
        if op.text_body:
            content["text/plain"] = {"schema": {"type": "string", "minLength": 1}}
        result["requestBody"] = {"required": op.body_required, "content": content}
    if graph:
        # Optional: the default auth mode needs no token; strict mode does (docs/auth-and-batch.md).
        result["security"] = [{"bearer": []}, {}]
    return result


def build_document(app: web.Application) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from emulator.openapi.operations import OPERATIONS

    refs, definitions = models_json_schema(_models(), ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for method, path in _routes(app):
        op = OPERATIONS.get(route_key(method, path))
        if op is not None:
            paths.setdefault(path, {})[method.lower()] = _operation(op, method, path, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Graph presence emulator", "version": __version__,
                 "description": "Microsoft Graph's presence API (under /v1.0 and /beta) and the emulator's "
                                "control plane (under /_emulator)."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    cache = request.app[_DOCUMENT]
    if not cache:
        cache.append(build_document(request.app))  # built on first use: the router is complete by then
    document = cache[0]
    base = f"{request.scheme}://{request.host}"
    return json_response(orjson.dumps({**document, "servers": [{"url": base}]}))


def add_routes(routes: Routes) -> None:
    routes.app[_DOCUMENT] = []
    routes.add_get(PATH, openapi_json, allow_head=False)
