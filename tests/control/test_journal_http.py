"""The request journal over HTTP: what it records, its filters, clearing, HAR and the summary."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from emulator.app import create_app
from emulator.cli import build_parser, settings_from_args
from emulator.runtime import Runtime
from emulator.tenant import DEFAULT_APP_ID, TenantSettings
from emulator.traffic.journal import JournalSettings
from tests.conftest import START
from tests.control.test_faults_http import ALICE, ALICE_PATH, SET_PRESENCE, add_fault, error_of, token

HAR_SCHEMA = json.loads((Path(__file__).parent / "har-1.2.schema.json").read_text())
BOB = "1f2e3d4c-0000-4000-8000-000000000b0b"


async def journal(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    resp = await client.get("/_emulator/requests" + query)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["count"] == len(body["value"])
    return body["value"]  # type: ignore[no-any-return]


async def test_an_entry_holds_the_request_the_response_and_who_sent_it(client: TestClient) -> None:
    headers = {**token("app-1", user=BOB), "client-request-id": "c-42"}
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence?x=1", json=SET_PRESENCE, headers=headers)
    assert resp.status == 200
    await client.post("/_emulator/clock/advance", data="PT1M")
    resp = await client.get(f"/beta/users/{ALICE}/presence")
    body = await resp.text()
    first, second = await journal(client)
    assert first["method"] == "POST"
    assert (first["path"], first["query"]) == (f"/v1.0/users/{ALICE}/presence/setPresence", "x=1")
    assert (first["applicationId"], first["userId"]) == ("app-1", BOB)
    assert first["requestHeaders"]["Authorization"] == "Bearer [redacted]"
    assert "eyJ" not in json.dumps(first)  # no trace of the token anywhere
    assert json.loads(first["requestBody"]) == SET_PRESENCE
    assert first["status"] == 200 and first["responseBody"] is None
    assert first["clientRequestId"] == "c-42"
    assert first["dateTime"].startswith("2026-09-21T14:13:20.")
    assert first["realDateTime"][:4] >= "2026" and first["latencyMs"] >= 0
    assert (first["fault"], first["throttled"], first["dropped"], first["earlyRetry"]) == (None, False, False, None)
    assert second["dateTime"].startswith("2026-09-21T14:14:20.")  # a minute later on the emulated clock
    assert second["responseBody"] == body
    assert second["responseHeaders"]["Content-Type"] == "application/json; charset=utf-8"
    assert second["requestId"] == resp.headers["request-id"]
    assert (second["applicationId"], second["userId"]) == (DEFAULT_APP_ID, None)
    assert second["id"] == first["id"] + 1


async def test_control_plane_requests_are_not_recorded_unless_asked_and_reads_never(client: TestClient) -> None:
    await client.get("/_emulator/health")
    await client.post("/_emulator/clock/advance", data="PT1S")
    await client.get(ALICE_PATH)
    for _ in range(3):
        assert [e["path"] for e in await journal(client)] == [ALICE_PATH]
    resp = await client.post("/_emulator/requests/settings", json={"recordControlPlane": True})
    assert (await resp.json())["recordControlPlane"] is True
    await client.get("/_emulator/state")
    await client.post("/_emulator/clock/advance", data="PT1S")
    await journal(client)
    assert [e["path"] for e in await journal(client)] == [ALICE_PATH, "/_emulator/requests/settings",
                                                          "/_emulator/clock/advance"]


async def test_filters(client: TestClient) -> None:
    await add_fault(client, {"id": "boom", "method": "POST", "path": "/beta/**", "status": 500})
    await client.get(ALICE_PATH, headers=token("app-a"))  # 1, 14:13:20
    await client.post("/_emulator/clock/advance", data="PT10M")
    await client.post(f"/beta/users/{ALICE}/presence/setPresence", json=SET_PRESENCE)  # 2: 500, 14:23:20
    await client.get("/v1.0/users/not-a-guid/presence", headers=token("app-b"))  # 3: 400
    await client.post("/_emulator/clock/advance", data="PT10M")
    await client.get(f"/beta/users/{BOB}/presence", headers=token("app-a"))  # 4, 14:33:20

    async def ids(query: str) -> list[int]:
        return [e["id"] - first for e in await journal(client, query)]

    first = (await journal(client))[0]["id"] - 1
    assert await ids("") == [1, 2, 3, 4]
    assert await ids("?path=/presence") == [1, 2, 3, 4]  # a substring
    assert await ids("?path=users/not-a") == [3]
    assert await ids("?path=SETPRESENCE") == [2]  # case-insensitive
    assert await ids("?path=/beta/users/*/presence") == [4]  # a glob matches the whole path
    assert await ids("?path=/beta/**") == [2, 4]
    assert await ids("?method=post") == [2]
    assert await ids("?method=GET,POST") == [1, 2, 3, 4]
    assert await ids("?status=200") == [1, 4]
    assert await ids("?status=4xx,5xx") == [2, 3]
    assert await ids("?status=500,400") == [2, 3]
    assert await ids("?since=2026-09-21T14:23:20Z") == [2, 3, 4]
    assert await ids("?since=2026-09-21T14:20:00Z&until=2026-09-21T14:33:20Z") == [2, 3]
    assert await ids("?until=2026-09-21T14:20:00") == [1]  # no zone: UTC
    assert await ids("?applicationId=APP-A") == [1, 4]
    assert await ids(f"?applicationId={DEFAULT_APP_ID}") == [2]
    assert await ids("?fault=boom") == [2]
    assert await ids("?fault=*") == [2]
    assert await ids("?limit=2") == [3, 4]
    assert await ids("?method=GET&limit=1") == [4]
    assert await ids("?earlyRetry=false&throttled=false") == [1, 2, 3, 4]


@pytest.mark.parametrize(("query", "message"), [
    ("?status=2x", "'2x' is not a status"),
    ("?since=yesterday", "'since': Input should be a valid datetime"),
    ("?limit=0", "'limit': Input should be greater than or equal to 1"),
    ("?colour=red", "'colour': not a property of a journal filter"),
    ("?path=/users/[abc", "without its ']'"),
    ("?method=GET&method=POST", "given twice"),
])
async def test_a_bad_filter_is_a_400_that_says_why(client: TestClient, query: str, message: str) -> None:
    for view in ("", "/har", "/summary"):
        resp = await client.get("/_emulator/requests" + view + query)
        assert resp.status == 400
        assert message in (await error_of(resp))["message"]


async def test_clear_empties_the_journal_and_the_retry_counts(client: TestClient) -> None:
    await add_fault(client, {"path": ALICE_PATH, "status": 503, "retryAfter": 30, "times": 1})
    for _ in range(2):
        await client.get(ALICE_PATH)
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert summary["total"] == 2 and summary["earlyRetries"]["total"] == 1
    assert (await client.delete("/_emulator/requests")).status == 204
    assert await journal(client) == []
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert (summary["total"], summary["earlyRetries"]["total"], summary["recorded"]) == (0, 0, 2)
    await client.get(ALICE_PATH)  # the Retry-After given before the clear is forgotten too
    after = await journal(client)
    assert after[0]["earlyRetry"] is None
    assert after[0]["id"] == 3  # ids go on counting after a clear: none is reused


async def test_early_retries_are_flagged_in_the_entry_and_counted_in_the_summary(client: TestClient) -> None:
    await add_fault(client, {"path": ALICE_PATH, "status": 429, "retryAfter": 10, "times": 1})
    a = token("app-a")
    assert (await client.get(ALICE_PATH, headers=a)).status == 429
    assert (await client.get(ALICE_PATH, headers=a)).status == 200  # early: served, but flagged
    await client.post("/_emulator/clock/advance", data="PT10S")
    assert (await client.get(ALICE_PATH, headers=a)).status == 200  # after ten emulated seconds: fine
    entries = await journal(client)
    assert [e["earlyRetry"] is not None for e in entries] == [False, True, False]
    flag = entries[1]["earlyRetry"]
    assert flag["retryAfter"] == 10 and flag["waitedSeconds"] < 10 and flag["waitedEmulatedSeconds"] == 0
    assert [e["id"] for e in await journal(client, "?earlyRetry=true")] == [entries[1]["id"]]
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert summary["earlyRetries"] == {"total": 1, "byApplication": {"app-a": 1}, "entries": [entries[1]["id"]]}
    assert summary["honouredRetries"] == {"total": 1, "byApplication": {"app-a": 1}}  # the third request


async def test_the_summary_counts_what_the_filters_select(client: TestClient) -> None:
    await client.post("/_emulator/throttling", json={"limit": 2})
    for _ in range(3):
        await client.get(ALICE_PATH, headers=token("app-a"))
    await client.get("/v1.0/users/not-a-guid/presence")
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert summary["total"] == summary["held"] == summary["recorded"] == 4
    assert summary["byStatus"] == {"200": 2, "400": 1, "429": 1}
    assert summary["byMethod"] == {"GET": 4}
    assert summary["byApplication"] == {DEFAULT_APP_ID: 1, "app-a": 3}
    assert summary["throttled"] == 1 and summary["dropped"] == 0
    assert set(summary["latencyMs"]) == {"median", "p95", "max"}
    filtered = await (await client.get("/_emulator/requests/summary?status=4xx")).json()
    assert filtered["total"] == 2 and filtered["held"] == 4


async def test_har_export_is_valid_har_1_2(client: TestClient) -> None:
    await add_fault(client, {"method": "POST", "path": "/**/clearPresence", "drop": True})
    await add_fault(client, {"method": "GET", "path": "/beta/**", "status": 503, "times": 1})
    await client.post(f"{ALICE_PATH}/setPresence", json=SET_PRESENCE, headers=token("app-a"))
    await client.get(f"{ALICE_PATH}?$select=availability&x=a%20b")
    await client.get("/beta/me/presence")
    with contextlib.suppress(aiohttp.ClientError):  # the connection is dropped
        await client.post(f"{ALICE_PATH}/clearPresence", json={"sessionId": "s"})
    resp = await client.get("/_emulator/requests/har")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    har = await resp.json()
    jsonschema.validate(har, HAR_SCHEMA)
    entries = har["log"]["entries"]
    assert [e["request"]["method"] for e in entries][:3] == ["POST", "GET", "GET"]
    post, get, failed = entries[0], entries[1], entries[2]
    assert json.loads(post["request"]["postData"]["text"]) == SET_PRESENCE
    assert {"name": "Authorization", "value": "Bearer [redacted]"} in post["request"]["headers"]
    assert post["_applicationId"] == "app-a"
    assert get["request"]["url"].startswith("http://127.0.0.1:") and "?$select=availability" in get["request"]["url"]
    assert get["request"]["queryString"] == [{"name": "$select", "value": "availability"},
                                             {"name": "x", "value": "a b"}]
    assert get["response"]["status"] == 200 and json.loads(get["response"]["content"]["text"])["id"] == ALICE
    assert (failed["response"]["status"], failed["response"]["statusText"], failed["_fault"]) \
        == (503, "Service Unavailable", "fault-2")
    dropped = [e for e in entries if e["response"]["status"] == 0]
    assert dropped and dropped[0]["_error"].startswith("connection dropped")
    # The schema is not a rubber stamp: a HAR missing a required field fails it.
    broken = copy.deepcopy(har)
    del broken["log"]["entries"][0]["response"]["content"]["mimeType"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, HAR_SCHEMA)
    filtered = await (await client.get("/_emulator/requests/har?method=POST&status=200")).json()
    assert len(filtered["log"]["entries"]) == 1


async def test_bodies_are_bounded_and_the_ring_keeps_the_newest(client: TestClient) -> None:
    resp = await client.post("/_emulator/requests/settings", json={"capacity": 3, "maxBodyBytes": 10})
    assert await resp.json() == {"capacity": 3, "maxBodyBytes": 10, "recordControlPlane": False}
    await client.post(f"{ALICE_PATH}/setPresence", json=SET_PRESENCE)
    for _ in range(3):
        await client.get(ALICE_PATH)
    entries = await journal(client)
    assert len(entries) == 3 and entries[0]["method"] == "GET"  # the POST was the oldest: gone
    assert [e["id"] for e in entries] == [2, 3, 4]  # ids are the requests' numbers, whatever the ring drops
    assert len(entries[0]["responseBody"]) == 10 and entries[0]["responseBodyTruncated"]
    assert entries[0]["responseBodySize"] > 10
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert (summary["held"], summary["recorded"], summary["capacity"]) == (3, 4, 3)
    resp = await client.post("/_emulator/requests/settings", json={"capacity": -1})
    assert resp.status == 400 and "'capacity'" in (await error_of(resp))["message"]


async def test_capacity_zero_turns_the_journal_off(client: TestClient) -> None:
    await client.get(ALICE_PATH)
    await client.post("/_emulator/requests/settings", json={"capacity": 0})
    await client.get(ALICE_PATH)
    assert await journal(client) == []
    await client.post("/_emulator/requests/settings", json={"capacity": 10})
    await client.get(ALICE_PATH)
    assert len(await journal(client)) == 1


async def test_reset_starts_a_fresh_journal(client: TestClient) -> None:
    await client.get(ALICE_PATH)
    await client.post("/_emulator/reset")
    assert await journal(client) == []


def test_serve_flags_set_throttle_and_journal_size() -> None:
    args = build_parser().parse_args(["serve", "--throttle", "100/10", "--journal-size", "0", "--clock", "manual"])
    settings = settings_from_args(args)
    assert (settings.throttle.max_requests, settings.throttle.window) == (100, 10.0)
    assert settings.journal == JournalSettings(capacity=0)
    assert settings_from_args(build_parser().parse_args(["serve"])).throttle.enabled is False
    assert settings_from_args(build_parser().parse_args(["serve", "--throttle", "10000"])).throttle.max_requests \
        == 10000
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--throttle", "lots"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--journal-size", "-5"])


async def test_a_journal_size_from_the_settings(aiohttp_client: Any) -> None:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START, journal=JournalSettings(capacity=2)))
    client = await aiohttp_client(create_app(runtime))
    for _ in range(3):
        await client.get(ALICE_PATH)
    assert len(await journal(client)) == 2
