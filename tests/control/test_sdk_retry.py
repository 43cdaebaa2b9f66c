"""Microsoft's own SDK against a 429: its RetryHandler waits the Retry-After, and the journal shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from tests.control.test_faults_http import ALICE, add_fault

# msgraph-sdk's generated request builders warn about their own deprecated configuration classes.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def sdk(client: TestClient) -> GraphServiceClient:
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider())
    adapter.base_url = str(client.make_url("/v1.0"))
    return GraphServiceClient(request_adapter=adapter)


def real_seconds(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["realDateTime"][:26] + "+00:00").timestamp()


async def test_the_sdk_backs_off_for_retry_after_on_a_429_fault(client: TestClient) -> None:
    await add_fault(client, {"method": "GET", "path": "/v1.0/users/*/presence", "status": 429, "retryAfter": 1,
                             "times": 1})
    presence = await sdk(client).users.by_user_id(ALICE).presence.get()
    assert presence is not None and presence.availability == "Offline"
    entries = (await (await client.get("/_emulator/requests")).json())["value"]
    assert [e["status"] for e in entries] == [429, 200]
    first, retry = entries
    assert first["responseHeaders"]["Retry-After"] == "1"
    assert "Retry-Attempt" not in first["requestHeaders"]
    assert retry["requestHeaders"]["Retry-Attempt"] == "1"
    assert real_seconds(retry) - real_seconds(first) >= 0.95
    assert retry["earlyRetry"] is None
    summary = await (await client.get("/_emulator/requests/summary")).json()
    assert summary["earlyRetries"]["total"] == 0 and summary["honouredRetries"]["total"] == 1


async def test_the_sdk_waits_out_the_throttle_window(aiohttp_client: Any) -> None:
    # A clock that runs in real time, so the throttle's window frees while the SDK sleeps.
    client = await aiohttp_client(create_app(Runtime(TenantSettings(clock_mode="real"))))
    await client.post("/_emulator/throttling", json={"limit": 1, "windowSeconds": 1})
    graph = sdk(client)
    await graph.users.by_user_id(ALICE).presence.get()
    presence = await graph.users.by_user_id(ALICE).presence.get()
    assert presence is not None and presence.id == ALICE
    entries = (await (await client.get("/_emulator/requests")).json())["value"]
    assert [(e["status"], e["throttled"]) for e in entries] == [(200, False), (429, True), (200, False)]
    assert entries[1]["responseHeaders"]["Retry-After"] == "1"
    assert real_seconds(entries[2]) - real_seconds(entries[1]) >= 0.95
    assert entries[2]["earlyRetry"] is None
