"""The live feed over HTTP: a snapshot first, coalesced bursts, clock jumps, and a fresh snapshot on reset."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from emulator.runtime import Runtime

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


async def next_event(resp: ClientResponse) -> tuple[str, Any]:
    """The next server-sent event (comments and the retry hint skipped)."""
    event, data = "", b""
    while True:
        line = await asyncio.wait_for(resp.content.readline(), 2.0)
        if line == b"\n":
            if event:
                return event, orjson.loads(data)
            continue
        if line.startswith(b"event: "):
            event = line[7:].strip().decode()
        elif line.startswith(b"data: "):
            data = line[6:].strip()


async def test_feed_sends_snapshot_then_coalesced_changes(client: TestClient, runtime: Runtime) -> None:
    runtime.tenant.presence.add_user(ALICE, "alice@contoso.com", "Alice")
    resp = await client.get("/_emulator/events")
    assert resp.headers["Content-Type"] == "text/event-stream"
    event, data = await next_event(resp)
    assert event == "snapshot"
    assert [u["id"] for u in data["users"]] == [ALICE]
    assert data["clock"]["mode"] == "manual"

    presence = runtime.tenant.presence
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(300)]
    for user_id in ids:
        presence.set_session(user_id, "app", "Busy", "InACall", expires_in=600)
    event, data = await next_event(resp)
    assert event == "users"
    assert sorted(u["id"] for u in data["users"]) == ids  # one event for the whole burst
    assert data["users"][0]["sessions"][0]["expiresMs"] == (runtime.tenant.clock.time() + 600) * 1000

    # A change that Graph does not show (a second, lower-ranked session) still reaches the page.
    presence.set_session(ids[0], "phone", "Away", "Away", expires_in=600)
    event, data = await next_event(resp)
    assert event == "users"
    assert len(data["users"][0]["sessions"]) == 2

    # A clock jump with nothing due is a clock event.
    before = data["clock"]["epochMs"]
    await client.post("/_emulator/clock/advance", data="PT1M")
    event, data = await next_event(resp)
    assert event == "clock"
    assert data["epochMs"] == before + 60_000

    await client.post("/_emulator/reset")
    event, data = await next_event(resp)
    assert event == "snapshot"
    assert data["users"] == []
    resp.close()


async def test_page_and_assets_are_served(client: TestClient) -> None:
    resp = await client.get("/_emulator/ui")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    for asset in ("dashboard.css", "dashboard.js", "favicon.svg"):
        assert f"/_emulator/ui/{asset}" in html
        assert (await client.get(f"/_emulator/ui/{asset}")).status == 200
    assert (await client.get("/_emulator/ui/secrets.txt")).status == 404
    assert (await client.get("/_emulator/ui/..%2Fapp.py")).status == 404


def test_a_page_that_falls_behind_gets_a_snapshot_instead_of_the_backlog(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from emulator.dashboard import feed

    monkeypatch.setattr(feed, "MAX_BACKLOG_BYTES", 100)
    viewer = feed.Viewer()
    viewer.needs_snapshot = False
    viewer.push(b"x" * 60)
    assert viewer.take() == [b"x" * 60]
    viewer.push(b"y" * 60)
    viewer.push(b"z" * 60)  # over the limit: the backlog is dropped for a fresh snapshot
    assert viewer.needs_snapshot
    assert viewer.take() == []
    viewer.push(b"w")  # while a snapshot is due, it already holds every later change
    assert viewer.take() == []
