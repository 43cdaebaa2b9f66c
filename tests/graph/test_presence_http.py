from __future__ import annotations

from aiohttp.test_utils import TestClient

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


async def test_set_then_read_presence(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", json={
        "sessionId": "app", "availability": "Busy", "activity": "InACall", "expirationDuration": "PT1H"})
    assert resp.status == 200
    resp = await client.get(f"/beta/users/{ALICE}/presence")
    body = await resp.json()
    assert (body["availability"], body["activity"]) == ("Busy", "InACall")
    assert body["@odata.context"].endswith(f"/beta/$metadata#users('{ALICE}')/presence/$entity")
    assert resp.headers["request-id"]


async def test_timedelta_style_duration_is_rejected(client: TestClient) -> None:
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", json={
        "sessionId": "app", "availability": "Busy", "activity": "InACall", "expirationDuration": "1:00:00"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "InvalidArgument"
