"""The shared pipeline: request ids, the JSON response helper, and that every route runs inside it."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.graph.pipeline import JSON, json_response, new_request_id
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings


def test_request_ids_are_distinct_version_4_guids() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for request_id in ids[:3] + ids[-3:]:
        parsed = uuid.UUID(request_id)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == request_id  # lower case, dashed: Graph's own form


def test_json_responses_do_not_share_headers() -> None:
    first, second = json_response(b"{}"), json_response(b"[]", status=201)
    first.headers["request-id"] = "only-on-the-first"
    assert "request-id" not in second.headers
    assert second.headers["Content-Type"] == JSON and second.status == 201


def test_every_route_runs_in_the_pipeline() -> None:
    """A route added straight to ``app.router`` (not through ``Routes``) would answer without request ids,
    the emulated Date, Graph errors, auth or the journal."""
    app = create_app(Runtime(TenantSettings(clock_mode="manual")))
    handlers = {route.handler.__qualname__ for route in app.router.routes()}
    assert handlers == {"Pipeline.wrap.<locals>.pipelined"}


async def test_unmatched_paths_get_graph_errors_with_request_ids(client: TestClient) -> None:
    # Graph answers an unknown segment with a 400 (BadRequest: "Resource not found for the segment").
    for method, path, status in [("GET", "/v1.0/nowhere", 400), ("GET", "/_emulator/nowhere", 404),
                                 ("DELETE", "/v1.0/communications/getPresencesByUserId", 405)]:
        resp = await client.request(method, path, headers={"client-request-id": "mine"})
        assert resp.status == status
        assert resp.headers["client-request-id"] == "mine" and resp.headers["request-id"]
        assert (await resp.json())["error"]["innerError"]["client-request-id"] == "mine"
