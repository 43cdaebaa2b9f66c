"""The control plane under /_emulator/: health, reset, clock, advance, state."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulator import __version__
from emulator.runtime import Runtime
from tests.graph.test_presence_http import ALICE, graph_error, read, set_presence


async def test_health(client: TestClient) -> None:
    resp = await client.get("/_emulator/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "version": __version__}
    assert resp.headers["request-id"]


async def test_clock_reads_and_advance_runs_what_falls_due(client: TestClient) -> None:
    clock = await (await client.get("/_emulator/clock")).json()
    assert clock == {"mode": "manual", "speed": 0.0, "now": "2026-09-21T14:13:20.0000000Z",
                     "nextDueDateTime": None, "pending": 0}
    await set_presence(client, "Available", "Available", expirationDuration="PT1H")
    clock = await (await client.get("/_emulator/clock")).json()
    assert clock["nextDueDateTime"] == "2026-09-21T14:18:20.0000000Z"
    resp = await client.post("/_emulator/clock/advance", data="PT5M")
    body = await resp.json()
    assert (body["now"], body["ran"]) == ("2026-09-21T14:18:20.0000000Z", 1)
    assert (await read(client))["activity"] == "AvailableInactive"
    resp = await client.post("/_emulator/clock/advance", json={"duration": "PT1H"})
    assert (await resp.json())["ran"] == 2  # fade to Away, then the expiry
    assert (await read(client))["availability"] == "Offline"


@pytest.mark.parametrize("body", ['"PT30S"', "PT30S", '{"duration": "PT30S"}'])
async def test_advance_body_forms(client: TestClient, body: str) -> None:
    resp = await client.post("/_emulator/clock/advance", data=body)
    assert (await resp.json())["now"] == "2026-09-21T14:13:50.0000000Z"


@pytest.mark.parametrize(("body", "code"), [
    ("1:00:00", "InvalidArgument"), ("", "InvalidArgument"), ('{"duration": 5}', "InvalidArgument"),
    ('{"duration": "PT5M"', "BadRequest"), ("-PT5M", "InvalidArgument"), ("P1000Y", "InvalidArgument"),
    ("P99999999W", "InvalidArgument"), ("[]", "InvalidArgument"),
])
async def test_advance_bad_input(client: TestClient, body: str, code: str) -> None:
    resp = await client.post("/_emulator/clock/advance", data=body)
    await graph_error(resp, 400, code)
    clock = await (await client.get("/_emulator/clock")).json()
    assert clock["now"] == "2026-09-21T14:13:20.0000000Z"


async def test_set_clock_mode(client: TestClient, runtime: Runtime) -> None:
    resp = await client.post("/_emulator/clock", json={"mode": "speed", "speed": 60})
    body = await resp.json()
    assert (body["mode"], body["speed"]) == ("speed", 60.0)
    assert runtime.tenant.clock.mode == "speed"
    resp = await client.post("/_emulator/clock", json={"mode": "manual"})
    assert (await resp.json())["mode"] == "manual"


@pytest.mark.parametrize("body", [{"mode": "warp"}, {"speed": 0}, {"speed": -2}, {"speed": "fast"},
                                  {"speed": True}, {"mode": 5}, {"": None}, {"mode": "real", "sped": 2}])
async def test_set_clock_bad_input(client: TestClient, runtime: Runtime, body: dict[str, Any]) -> None:
    await graph_error(await client.post("/_emulator/clock", json=body), 400, "InvalidArgument")
    assert runtime.tenant.clock.mode == "manual"


async def test_state_shows_sessions_preferred_and_status(client: TestClient) -> None:
    await set_presence(client, "Available", "Available", session="app", expirationDuration="PT1H")
    await client.post(f"/v1.0/users/{ALICE}/presence/setUserPreferredPresence",
                      json={"availability": "Busy", "activity": "Busy"})
    await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage", json={"statusMessage": {
        "message": {"content": "hi", "contentType": "text"},
        "expiryDateTime": {"dateTime": "2026-09-21T18:00:00", "timeZone": "W. Europe Standard Time"}}})
    await client.post("/_emulator/clock/advance", data="PT6M")
    state = await (await client.get("/_emulator/state")).json()
    assert state["restrictUsers"] is False and state["clock"]["mode"] == "manual"
    [user] = state["users"]
    assert (user["id"], user["availability"], user["activity"]) == (ALICE, "Busy", "Busy")
    assert user["sessions"] == [{
        "sessionId": "app", "source": "application", "availability": "Available", "activity": "Available",
        "shownAvailability": "Available", "shownActivity": "AvailableInactive",
        "setDateTime": "2026-09-21T14:13:20.0000000Z", "expirationDateTime": "2026-09-21T15:13:20.0000000Z",
        "nextTransitionDateTime": "2026-09-21T14:23:20.0000000Z"}]
    assert user["preferredPresence"]["expirationDateTime"] == "2026-09-22T14:13:20.0000000Z"
    assert user["statusMessage"]["expiresAt"] == "2026-09-21T16:00:00.0000000Z"  # 18:00 CEST
    assert user["outOfOfficeSettings"] == {"isOutOfOffice": False, "message": None}


async def test_reset_forgets_everything(client: TestClient, runtime: Runtime) -> None:
    await set_presence(client)
    await client.post("/_emulator/clock/advance", data="PT1M")
    number = (await read(client))["sequenceNumber"]
    old = runtime.tenant
    resp = await client.post("/_emulator/reset")
    assert resp.status == 200
    assert (await resp.json())["clock"]["now"] == "2026-09-21T14:13:20.0000000Z"
    assert runtime.tenant is not old
    assert (await read(client))["availability"] == "Offline"
    assert (await (await client.get("/_emulator/state")).json())["users"] == []
    await set_presence(client)
    assert (await read(client))["sequenceNumber"] > number


async def test_control_plane_wrong_method(client: TestClient) -> None:
    resp = await client.get("/_emulator/reset")
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    await graph_error(await client.get("/_emulator/nope"), 404, "NotFound")
