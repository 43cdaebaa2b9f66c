"""Fault rules and throttling over HTTP: /_emulator/faults and /_emulator/throttling, and what a client sees."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from emulator.traffic.throttle import ThrottleSettings
from tests.conftest import START

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
ALICE_PATH = f"/v1.0/users/{ALICE}/presence"
SET_PRESENCE = {"sessionId": "s", "availability": "Busy", "activity": "InACall"}
KEY = "a-test-signing-key-that-is-long-enough-for-hs256"


def token(app_id: str, user: str | None = ALICE) -> dict[str, str]:
    claims: dict[str, Any] = {"appid": app_id, "scp": "Presence.Read"}
    if user:
        claims["oid"] = user
    return {"Authorization": "Bearer " + jwt.encode(claims, KEY, algorithm="HS256")}


async def add_fault(client: TestClient, rule: Any) -> Any:
    resp = await client.post("/_emulator/faults", json=rule)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def error_of(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    body = await resp.json()
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


# -- effects, matched and unmatched ----------------------------------------------------------------------

async def test_a_status_fault_answers_with_the_graph_error_body_and_retry_after(client: TestClient) -> None:
    await add_fault(client, {"method": "GET", "path": "/v1.0/users/*/presence", "status": 503, "retryAfter": 7})
    resp = await client.get(ALICE_PATH, headers={"client-request-id": "c-1"})
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "7"
    assert resp.headers["client-request-id"] == "c-1"
    error = await error_of(resp)
    assert error["code"] == "serviceNotAvailable"
    assert error["innerError"]["client-request-id"] == "c-1"
    assert error["innerError"]["request-id"] == resp.headers["request-id"]
    # Unmatched: another path, another method, the control plane.
    assert (await client.get("/v1.0/me/presence", headers=token("a"))).status == 200
    assert (await client.post(f"{ALICE_PATH}/setPresence", json=SET_PRESENCE)).status == 200
    assert (await client.get("/_emulator/health")).status == 200


async def test_a_429_fault_gets_retry_after_by_default_and_custom_code_and_message(client: TestClient) -> None:
    await add_fault(client, [{"path": ALICE_PATH, "status": 429, "times": 1},
                             {"path": "/v1.0/me/presence", "status": 500, "code": "UnknownError",
                              "message": "Something broke."}])
    resp = await client.get(ALICE_PATH)
    assert (resp.status, resp.headers["Retry-After"]) == (429, "1")
    error = await error_of(resp)
    assert (error["code"], error["innerError"]["code"]) == ("activityLimitReached", "throttledRequest")
    resp = await client.get("/v1.0/me/presence", headers=token("a"))
    assert resp.status == 500 and "Retry-After" not in resp.headers
    error = await error_of(resp)
    assert (error["code"], error["message"]) == ("UnknownError", "Something broke.")
    assert (await client.get(ALICE_PATH)).status == 200  # times: 1 is spent


async def test_a_latency_fault_delays_the_answer_in_real_time(client: TestClient) -> None:
    await add_fault(client, {"path": ALICE_PATH, "latency": 0.5})
    started = time.perf_counter()
    assert (await client.get(ALICE_PATH)).status == 200
    assert time.perf_counter() - started >= 0.5
    started = time.perf_counter()
    assert (await client.get("/v1.0/me/presence", headers=token("a"))).status == 200
    assert time.perf_counter() - started < 0.5
    entries = (await (await client.get("/_emulator/requests")).json())["value"]
    assert entries[0]["fault"] == "fault-1" and entries[0]["latencyMs"] >= 500
    assert entries[1]["fault"] is None


async def test_a_drop_fault_closes_the_connection_without_an_answer(client: TestClient) -> None:
    await add_fault(client, {"id": "cut", "method": "POST", "path": "/**/setPresence", "drop": True})
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(client.make_url(f"{ALICE_PATH}/setPresence"), json=SET_PRESENCE)
        async with session.get(client.make_url(ALICE_PATH)) as resp:
            assert resp.status == 200
            assert (await resp.json())["availability"] == "Offline"  # the dropped request did nothing
    entries = (await (await client.get("/_emulator/requests?status=0")).json())["value"]
    assert len(entries) == 1
    assert entries[0]["dropped"] and entries[0]["fault"] == "cut" and entries[0]["responseBody"] is None
    assert entries[0]["requestBody"] is not None and "InACall" in entries[0]["requestBody"]
    rule = await (await client.get("/_emulator/faults/cut")).json()
    assert (rule["matched"], rule["fired"]) == (1, 1)


async def test_nth_over_http_counts_matching_requests_only(client: TestClient) -> None:
    await add_fault(client, {"method": "GET", "path": ALICE_PATH, "status": 500, "nth": 3})
    statuses = []
    for _ in range(4):
        statuses.append((await client.get(ALICE_PATH)).status)
        await client.get("/v1.0/me/presence", headers=token("a"))
    assert statuses == [200, 200, 500, 200]


async def test_a_seeded_probability_gives_the_same_run_after_a_reset(client: TestClient) -> None:
    async def run() -> list[int]:
        await client.post("/_emulator/reset")
        await add_fault(client, {"path": ALICE_PATH, "status": 503, "probability": 0.5, "seed": 42})
        return [(await client.get(ALICE_PATH)).status for _ in range(30)]
    first, second = await run(), await run()
    assert first == second
    assert {200, 503} == set(first)


async def test_a_window_on_the_emulated_clock(client: TestClient) -> None:
    await add_fault(client, {"path": ALICE_PATH, "status": 503, "window": {"start": "PT5M", "end": "PT10M"}})
    rule = (await (await client.get("/_emulator/faults")).json())["value"][0]
    assert rule["windowStart"].startswith("2026-09-21T14:18:20.00000")  # five minutes after START
    assert (await client.get(ALICE_PATH)).status == 200
    await client.post("/_emulator/clock/advance", data="PT5M")
    assert (await client.get(ALICE_PATH)).status == 503
    await client.post("/_emulator/clock/advance", data="PT5M")
    assert (await client.get(ALICE_PATH)).status == 200


async def test_an_application_id_rule_matches_that_application_only(client: TestClient) -> None:
    await add_fault(client, {"path": "/v1.0/me/presence", "status": 403, "applicationId": "app-a"})
    assert (await client.get("/v1.0/me/presence", headers=token("app-a"))).status == 403
    assert (await client.get("/v1.0/me/presence", headers=token("app-b"))).status == 200


# -- the rule endpoints ----------------------------------------------------------------------------------

async def test_rules_are_listed_fetched_and_deleted(client: TestClient) -> None:
    created = await add_fault(client, [{"status": 500, "path": "/beta/**"},
                                       {"id": "mine", "target": "delivery", "duplicate": 1}])
    assert [r["id"] for r in created] == ["fault-1", "mine"]
    listing = await (await client.get("/_emulator/faults")).json()
    assert listing["count"] == 2
    assert listing["value"][1] == {"id": "mine", "target": "delivery", "duplicate": 1, "outOfOrder": False,
                                   "matched": 0, "fired": 0}
    assert (await client.get("/_emulator/faults/nope")).status == 404
    assert (await client.delete("/_emulator/faults/mine")).status == 204
    resp = await client.delete("/_emulator/faults/mine")
    assert resp.status == 404 and (await error_of(resp))["code"] == "itemNotFound"
    assert (await client.get("/beta/me/presence")).status == 500
    assert (await client.delete("/_emulator/faults")).status == 204
    assert (await (await client.get("/_emulator/faults")).json())["count"] == 0
    assert (await client.get("/beta/me/presence", headers=token("a"))).status == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"path": "/x"}, "Invalid fault rule: A request fault needs an effect"),
    ({"status": "five hundred"}, "'status': Input should be a valid integer"),
    ([{"status": 500}, {"status": 500, "nth": -1}], "'[1].nth': Input should be greater than or equal to 1"),
    ({"status": 500, "window": {"begin": "PT1M"}}, "'window.begin': not a property of a fault rule"),
    ({"status": 500, "window": {"start": "PT2M", "end": "PT1M"}}, "the window ends before it starts"),
    ("503", "Input should be a valid dictionary"),
])
async def test_invalid_rules_get_a_400_that_names_the_field(client: TestClient, body: Any, message: str) -> None:
    resp = await client.post("/_emulator/faults", json=body)
    assert resp.status == 400
    error = await error_of(resp)
    assert error["code"] == "InvalidArgument"
    assert message in error["message"]
    assert (await (await client.get("/_emulator/faults")).json())["count"] == 0  # nothing half-applied


async def test_malformed_json_and_a_taken_id(client: TestClient) -> None:
    resp = await client.post("/_emulator/faults", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    await add_fault(client, {"id": "x", "status": 500})
    resp = await client.post("/_emulator/faults", json={"id": "x", "status": 503})
    assert resp.status == 409 and "'x' exists" in (await error_of(resp))["message"]


async def test_reset_removes_the_rules(client: TestClient) -> None:
    await add_fault(client, {"status": 500})
    await client.post("/_emulator/reset")
    assert (await client.get(ALICE_PATH)).status == 200


# -- throttling ------------------------------------------------------------------------------------------

async def test_throttling_per_application_with_retry_after_from_the_window(client: TestClient) -> None:
    resp = await client.post("/_emulator/throttling", json={"limit": 2, "windowSeconds": 10})
    assert (await resp.json())["limit"] == 2
    a, b = token("app-a"), token("app-b")
    assert (await client.get(ALICE_PATH, headers=a)).status == 200
    await client.post("/_emulator/clock/advance", data="PT4S")
    assert (await client.post(f"{ALICE_PATH}/setPresence", json=SET_PRESENCE, headers=a)).status == 200
    resp = await client.get(ALICE_PATH, headers=a)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "6"  # the first request leaves the window 6 s from now
    error = await error_of(resp)
    assert (error["code"], error["innerError"]["code"]) == ("activityLimitReached", "throttledRequest")
    assert (await client.get(ALICE_PATH, headers=b)).status == 200  # another application's own window
    assert (await client.get("/_emulator/state")).status == 200  # the control plane is never throttled
    state = await (await client.get("/_emulator/throttling")).json()
    assert state["applications"] == {"app-a": 2, "app-b": 1}
    assert state["rejected"] == 1
    await client.post("/_emulator/clock/advance", data="PT6S")
    assert (await client.get(ALICE_PATH, headers=a)).status == 200
    assert (await client.delete("/_emulator/throttling")).status == 200
    for _ in range(3):
        assert (await client.get(ALICE_PATH, headers=a)).status == 200


async def test_presets_and_the_code_setting(client: TestClient) -> None:
    resp = await client.post("/_emulator/throttling", json={"preset": "1500", "code": "TooManyRequests"})
    state = await resp.json()
    assert (state["limit"], state["windowSeconds"], state["code"]) == (1500, 30.0, "TooManyRequests")
    resp = await client.post("/_emulator/throttling", json={"preset": "10000", "limit": 3})
    assert resp.status == 400
    assert "either 'preset' or 'limit'" in (await error_of(resp))["message"]
    resp = await client.post("/_emulator/throttling", json={"limit": 1, "code": "TooManyRequests"})
    assert (await client.get(ALICE_PATH)).status == 200
    resp = await client.get(ALICE_PATH)
    assert (await error_of(resp))["code"] == "TooManyRequests"


async def test_a_throttle_from_the_settings_survives_a_reset(aiohttp_client: Any) -> None:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START,
                                     throttle=ThrottleSettings(limit=1, window_seconds=30)))
    client = await aiohttp_client(create_app(runtime))
    assert (await client.get(ALICE_PATH)).status == 200
    assert (await client.get(ALICE_PATH)).status == 429
    await client.post("/_emulator/reset")
    assert (await client.get(ALICE_PATH)).status == 200
    assert (await client.get(ALICE_PATH)).status == 429


# -- $batch: each request inside is screened on its own ------------------------------------------------------

def batch(*requests: tuple[str, str]) -> dict[str, Any]:
    return {"requests": [{"id": str(n), "method": method, "url": url}
                         for n, (method, url) in enumerate(requests, 1)]}


async def test_batch_requests_are_throttled_and_faulted_one_by_one(client: TestClient) -> None:
    await client.post("/_emulator/throttling", json={"limit": 2})
    await add_fault(client, {"method": "POST", "path": "/**/setPresence", "status": 503, "retryAfter": 60})
    body = batch(("GET", f"/users/{ALICE}/presence"), ("POST", f"/users/{ALICE}/presence/setPresence"),
                 ("GET", f"/users/{ALICE}/presence"), ("GET", f"/users/{ALICE}/presence"))
    body["requests"][1].update(headers={"Content-Type": "application/json"}, body=SET_PRESENCE)
    resp = await client.post("/v1.0/$batch", json=body)
    assert resp.status == 200  # the envelope itself is not throttled
    responses = {r["id"]: r for r in (await resp.json())["responses"]}
    assert [responses[n]["status"] for n in "1234"] == [200, 503, 200, 429]
    assert responses["2"]["headers"]["Retry-After"] == "60"
    assert responses["4"]["body"]["error"]["code"] == "activityLimitReached"
    # The journal has each request of the batch, then the envelope.
    entries = await (await client.get("/_emulator/requests")).json()
    assert [(e["path"], e["status"]) for e in entries["value"]] == [
        (ALICE_PATH, 200), (f"{ALICE_PATH}/setPresence", 503), (ALICE_PATH, 200), (ALICE_PATH, 429),
        ("/v1.0/$batch", 200)]
    assert [e["fault"] for e in entries["value"]][1] == "fault-1"
    # The same requests again at once: the POST (told 60 s) and the GETs (told to wait by the 429) are early.
    await client.post("/v1.0/$batch", json=body)
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert summary["earlyRetries"]["total"] == 4


async def test_a_dropped_batch_request_drops_the_batch_connection(client: TestClient) -> None:
    await add_fault(client, {"method": "GET", "path": "/v1.0/me/presence", "drop": True})
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(client.make_url("/v1.0/$batch"),
                               json=batch(("GET", f"/users/{ALICE}/presence"), ("GET", "/me/presence"),
                                          ("GET", f"/users/{ALICE}/presence")))
    entries = (await (await client.get("/_emulator/requests")).json())["value"]
    assert [(e["path"], e["status"]) for e in entries] == [(ALICE_PATH, 200), ("/v1.0/me/presence", 0),
                                                           ("/v1.0/$batch", 0)]
