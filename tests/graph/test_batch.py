"""JSON batching: limits, ids, dependsOn and 424, header/body rules, per-request auth, malformed batches."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "66825e03-7ef5-42da-9069-724602c31f6b"
JSON = {"Content-Type": "application/json"}
SET_BODY = {"sessionId": "app", "availability": "Busy", "activity": "InACall"}


def get(id_: str, user: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "method": "GET", "url": f"/users/{user}/presence", **extra}


def set_presence(id_: str, user: str = ALICE, body: Any = None, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "method": "POST", "url": f"/users/{user}/presence/setPresence", "headers": JSON,
            "body": SET_BODY if body is None else body, **extra}


async def batch(client: TestClient, requests: Any, version: str = "v1.0", **kw: Any) -> tuple[int, Any]:
    resp = await client.post(f"/{version}/$batch", json={"requests": requests}, **kw)
    return resp.status, await resp.json()


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in body["responses"]}


async def test_each_request_is_answered_as_if_sent_alone(client: TestClient) -> None:
    status, body = await batch(client, [set_presence("1"), get("2", dependsOn=["1"]), get("3", user="not-a-guid"),
                                        {"id": "4", "method": "GET", "url": "/nowhere"}])
    assert status == 200
    responses = by_id(body)
    assert responses["1"]["status"] == 200 and "body" not in responses["1"]
    two = responses["2"]
    assert (two["status"], two["body"]["availability"], two["body"]["activity"]) == (200, "Busy", "InACall")
    assert two["body"]["@odata.context"].endswith(f"/v1.0/$metadata#users('{ALICE}')/presence/$entity")
    assert two["headers"]["Content-Type"].startswith("application/json")
    assert two["headers"]["request-id"] != responses["1"]["headers"]["request-id"]
    assert responses["3"]["status"] == 400 and responses["3"]["body"]["error"]["code"] == "BadRequest"
    assert responses["4"]["status"] == 400  # Graph's answer for an unknown segment
    # The state changed exactly as a standalone setPresence would have changed it.
    assert (await (await client.get(f"/v1.0/users/{ALICE}/presence")).json())["availability"] == "Busy"


async def test_beta_batch_routes_under_beta(client: TestClient) -> None:
    status, body = await batch(client, [get("a")], version="beta")
    assert status == 200
    assert "/beta/$metadata#" in body["responses"][0]["body"]["@odata.context"]


async def test_responses_come_in_dependency_order_then_request_order(client: TestClient) -> None:
    status, body = await batch(client, [get("c", dependsOn=["b"]), get("a"), set_presence("b")])
    assert status == 200
    assert [r["id"] for r in body["responses"]] == ["a", "b", "c"]
    assert body["responses"][2]["body"]["availability"] == "Busy"  # c ran after b


async def test_failed_dependency_is_424_transitively(client: TestClient) -> None:
    bad = set_presence("1", body={**SET_BODY, "expirationDuration": "1:00:00"})
    status, body = await batch(client, [bad, set_presence("2", dependsOn=["1"]), get("3", dependsOn=["2"]),
                                        get("4")])
    responses = by_id(body)
    assert status == 200
    assert [responses[i]["status"] for i in "1234"] == [400, 424, 424, 200]
    error = responses["2"]["body"]["error"]
    assert error["code"] == "FailedDependency" and "'1'" in error["message"]
    assert "request-id" in error["innerError"]
    # The dependent setPresence never ran.
    assert (await (await client.get(f"/v1.0/users/{ALICE}/presence")).json())["availability"] == "Offline"


async def test_dependency_ids_are_case_insensitive(client: TestClient) -> None:
    status, body = await batch(client, [set_presence("First"), get("second", dependsOn=["FIRST"])])
    assert status == 200 and [r["status"] for r in body["responses"]] == [200, 200]


async def test_absolute_urls_and_queries_and_missing_leading_slash(client: TestClient) -> None:
    requests = [{"id": "1", "method": "get", "url": f"https://graph.microsoft.com/v1.0/users/{ALICE}/presence?x=1"},
                {"id": "2", "method": "GET", "url": f"users/{ALICE}/presence"},
                {"id": "3", "method": "POST", "url": "/communications/getPresencesByUserId", "headers": JSON,
                 "body": {"ids": [ALICE, BOB]}}]
    status, body = await batch(client, requests)
    responses = by_id(body)
    assert status == 200
    assert [responses[i]["status"] for i in "123"] == [200, 200, 200]
    assert len(responses["3"]["body"]["value"]) == 2


@pytest.mark.parametrize(("requests", "fragment"), [
    ([get(str(i)) for i in range(21)], "at most 20"),
    ([], "no requests"),
    ([get("1"), get("1")], "more than once"),
    ([get("x"), get("X")], "more than once"),
    ([get("1", dependsOn=["9"])], "not in the batch"),
    ([get("1", dependsOn=["1"])], "cycle"),
    ([get("1", dependsOn=["2"]), get("2", dependsOn=["1"])], "cycle"),
    ([{"id": "1", "method": "POST", "url": f"/users/{ALICE}/presence/setPresence", "body": SET_BODY}],
     "Content-Type"),
    ([{"id": "1", "method": "POST", "url": f"/users/{ALICE}/presence/setPresence", "headers": {"X": "y"},
       "body": SET_BODY}], "Content-Type"),
    ([{"id": "1", "method": "TRACE", "url": "/me/presence"}], "not supported"),
    ([{"id": "1", "method": "POST", "url": "/$batch", "headers": JSON, "body": {"requests": []}}], "another batch"),
    ([{"id": "1", "url": "/me/presence"}], "method"),
    ([{"id": 1, "method": "GET", "url": "/me/presence"}], "id"),
    ([{"id": "", "method": "GET", "url": "/me/presence"}], "id"),
    ([{"id": "1", "method": "GET"}], "url"),
    (["not an object"], "requests"),
    ("not a list", "requests"),
])
async def test_malformed_batches_are_400(client: TestClient, requests: Any, fragment: str) -> None:
    status, body = await batch(client, requests)
    assert status == 400
    assert body["error"]["code"] == "BadRequest"
    assert fragment in body["error"]["message"]


async def test_exactly_twenty_is_fine(client: TestClient) -> None:
    status, body = await batch(client, [get(str(i)) for i in range(20)])
    assert status == 200 and len(body["responses"]) == 20


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"requests": null}', b'{"value": []}'])
async def test_unreadable_batch_bodies_are_400(client: TestClient, raw: bytes) -> None:
    resp = await client.post("/v1.0/$batch", data=raw, headers=JSON)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "BadRequest"


async def test_batch_requires_json(client: TestClient) -> None:
    resp = await client.post("/v1.0/$batch", data=b'{"requests": []}', headers={"Content-Type": "text/plain"})
    assert resp.status == 415


async def test_sub_request_media_type_is_checked_per_request(client: TestClient) -> None:
    item = {"id": "1", "method": "POST", "url": f"/users/{ALICE}/presence/setPresence",
            "headers": {"content-type": "text/plain"}, "body": "hello"}
    status, body = await batch(client, [item])
    assert status == 200 and body["responses"][0]["status"] == 415


async def test_strict_auth_applies_to_each_request(aiohttp_client: Any) -> None:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START, auth="strict"))
    client: TestClient = await aiohttp_client(create_app(runtime))
    resp = await client.post("/v1.0/$batch", json={"requests": [get("1")]})
    assert resp.status == 401  # the batch itself needs a token
    minted = await (await client.post("/_emulator/token", json={"oid": ALICE, "scp": "Presence.Read"})).json()
    headers = {"Authorization": f"Bearer {minted['access_token']}"}
    status, body = await batch(client, [get("own"), get("other", user=BOB), set_presence("write"),
                                        get("after", dependsOn=["write"])], headers=headers)
    responses = by_id(body)
    assert status == 200
    assert [responses[i]["status"] for i in ("own", "other", "write", "after")] == [200, 403, 403, 424]
    assert responses["other"]["body"]["error"]["code"] == "Forbidden"


async def test_sub_requests_pass_through_the_pipeline_one_by_one(client: TestClient) -> None:
    """What the pipeline's stages (faults, journal) see: each request of the batch, then the batch itself."""
    resp = await client.post("/_emulator/faults", json={"path": "/**/clearPresence", "status": 503, "retryAfter": 7})
    assert resp.status == 201
    status, body = await batch(client, [
        get("r", extra="ignored"),
        {"id": "c", "method": "POST", "url": f"/users/{ALICE}/presence/clearPresence?x=1",
         "headers": {**JSON, "Expect": "100-continue", "Content-Length": "999"}, "body": {"sessionId": "s"}},
        get("after", dependsOn=["c"])])
    assert status == 200
    responses = by_id(body)
    assert responses["c"]["status"] == 503 and responses["c"]["headers"]["Retry-After"] == "7"
    assert responses["c"]["body"]["error"]["code"] == "serviceNotAvailable"
    assert responses["after"]["status"] == 424
    journal = (await (await client.get("/_emulator/requests")).json())["value"]
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in journal] == [
        ("GET", f"/v1.0/users/{ALICE}/presence", "", 200),
        ("POST", f"/v1.0/users/{ALICE}/presence/clearPresence", "x=1", 503),
        ("POST", "/v1.0/$batch", "", 200)]
