"""The OpenAPI document: it lists every served route and is itself a valid OpenAPI 3.1 document."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.openapi.document import build_document, unregistered_routes
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings


def _app() -> web.Application:
    return create_app(Runtime(TenantSettings(clock_mode="manual")))


def test_every_registered_route_is_in_the_document() -> None:
    app = _app()
    assert unregistered_routes(app) == []
    paths = build_document(app)["paths"]
    for route in app.router.routes():
        if route.resource is not None and route.method not in ("HEAD", "*"):  # "*": the unmatched paths' 404
            assert route.method.lower() in paths.get(route.resource.canonical, {}), route


def test_a_route_without_a_row_is_reported() -> None:
    app = _app()

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app.router.add_get("/_emulator/not-described", handler)
    assert unregistered_routes(app) == ["GET /_emulator/not-described"]
    assert "/_emulator/not-described" not in build_document(app)["paths"]


def test_graph_operations_cover_both_versions_and_name_their_parameters() -> None:
    paths = build_document(_app())["paths"]
    for version in ("v1.0", "beta"):
        get = paths[f"/{version}/users/{{id}}/presence"]["get"]
        assert get["parameters"][0]["name"] == "id"
        assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Presence"}
        assert f"/{version}/$batch" in paths


async def test_served_document(client: TestClient) -> None:
    resp = await client.get("/_emulator/openapi.json")
    assert resp.status == 200
    document = await resp.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": str(client.make_url("")).rstrip("/")}]
    refs = {value for path in document["paths"].values() for op in path.values()
            for value in _refs(op)}
    assert refs and all(ref.removeprefix("#/components/schemas/") in document["components"]["schemas"]
                        for ref in refs)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
