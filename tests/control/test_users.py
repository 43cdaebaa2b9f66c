"""The control plane's user endpoints: what Graph cannot do (Teams-client sessions, out of office)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from emulator.runtime import Runtime

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


async def test_add_user_then_read_it(client: TestClient) -> None:
    resp = await client.post("/_emulator/users", json={
        "id": ALICE, "userPrincipalName": "alice@contoso.com", "displayName": "Alice"})
    assert resp.status == 201
    body = await (await client.get("/_emulator/users/alice@contoso.com")).json()
    assert (body["id"], body["displayName"], body["availability"]) == (ALICE, "Alice", "Offline")


async def test_teams_session_takes_any_documented_pair_and_ends(client: TestClient, runtime: Runtime) -> None:
    resp = await client.post(f"/_emulator/users/{ALICE}/sessions", json={
        "sessionId": "teams-desktop", "availability": "busy", "activity": "inameeting"})
    assert resp.status == 201
    session = (await resp.json())["sessions"][0]
    assert (session["availability"], session["activity"], session["source"]) == ("Busy", "InAMeeting", "teams")
    assert session["expirationDateTime"] is None
    graph = await (await client.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert (graph["availability"], graph["activity"]) == ("Busy", "InAMeeting")

    resp = await client.delete(f"/_emulator/users/{ALICE}/sessions/teams-desktop")
    assert resp.status == 200
    assert (await resp.json())["availability"] == "Offline"
    resp = await client.delete(f"/_emulator/users/{ALICE}/sessions/teams-desktop")
    assert resp.status == 404


async def test_teams_session_expires_on_the_emulated_clock(client: TestClient, runtime: Runtime) -> None:
    resp = await client.post(f"/_emulator/users/{ALICE}/sessions", json={
        "availability": "Available", "activity": "Available", "expirationDuration": "PT2M", "fades": False})
    session_id = (await resp.json())["sessions"][0]["sessionId"]
    assert session_id.startswith("teams-")
    runtime.tenant.advance(119)
    assert runtime.tenant.presence.users[ALICE].availability == "Available"
    runtime.tenant.advance(1)
    assert runtime.tenant.presence.users[ALICE].availability == "Offline"


async def test_bad_session_bodies_are_clear_400s(client: TestClient, runtime: Runtime) -> None:
    for body, fragment in (
        ({"availability": "Sleepy", "activity": "Available"}, "availability 'Sleepy'"),
        ({"availability": "Busy", "activity": "Napping"}, "activity 'Napping'"),
        ({"availability": "Busy", "activity": "Busy", "expirationDuration": "1:00:00"}, "expirationDuration"),
        ({"availability": "Busy", "activity": "Busy", "sessionId": ""}, "sessionId"),
        ({"availability": "Busy"}, "'activity' is required"),
    ):
        resp = await client.post(f"/_emulator/users/{ALICE}/sessions", json=body)
        assert resp.status == 400, body
        error = (await resp.json())["error"]
        assert error["code"] == "InvalidArgument"
        assert fragment in error["message"]
    assert ALICE not in runtime.tenant.presence.users  # nothing half-applied
    resp = await client.post("/_emulator/users/not-a-guid/sessions", json={"availability": "Busy", "activity": "Busy"})
    assert resp.status == 400


async def test_out_of_office(client: TestClient) -> None:
    await client.post(f"/_emulator/users/{ALICE}/sessions", json={"availability": "Available", "activity": "Available"})
    resp = await client.post(f"/_emulator/users/{ALICE}/outOfOffice", json={"isOutOfOffice": True, "message": "Away"})
    assert resp.status == 200
    graph = await (await client.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert graph["outOfOfficeSettings"] == {"message": "Away", "isOutOfOffice": True}
    assert graph["activity"] == "OutOfOffice"
    resp = await client.post(f"/_emulator/users/{ALICE}/outOfOffice", json={"isOutOfOffice": "yes"})
    assert resp.status == 400


async def test_unknown_user_reads_404(client: TestClient) -> None:
    resp = await client.get(f"/_emulator/users/{ALICE}")
    assert resp.status == 404
