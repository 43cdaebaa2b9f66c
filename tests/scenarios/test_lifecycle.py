"""The lifecycleNotification timeline action: lifecycle events reach real receivers on 127.0.0.1 when a
manual clock brings the timeline to them, and subscriptionRemoved does what the control plane's does."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import pytest
from aiohttp.test_utils import TestClient

from emulator.notifications.payloads import LIFECYCLE_EVENTS
from emulator.runtime import Runtime
from emulator.scenarios import ScenarioError, parse_scenario
from emulator.scenarios.model import LifecycleEvent
from tests.scenarios.conftest import BUNDLED
from tests.webhooks import ALICE, BOB, Receiver, client, receiver, runtime, subscribe, token

__all__ = ["client", "receiver", "runtime"]

ADELE = ALICE  # the bundled lifecycle.yaml's Adele; the default token's user


async def load(client: TestClient, text: str) -> None:
    resp = await client.post("/_emulator/scenario?clock=manual", data=text,
                             headers={"Content-Type": "application/yaml"})
    assert resp.status == 200, await resp.text()


async def advance(client: TestClient, runtime: Runtime, duration: str) -> None:
    resp = await client.post("/_emulator/clock/advance", data=duration)
    assert resp.status == 200, await resp.text()
    await asyncio.wait_for(runtime.tenant.delivery.drain(), 5)


async def timeline_outcomes(client: TestClient) -> list[tuple[str, str | None, str]]:
    body = await (await client.get("/_emulator/timeline?limit=50")).json()
    return [(item["action"], item.get("lifecycleEvent"), item["outcome"]) for item in body["ran"]["items"]]


def lifecycle_events(receiver: Receiver, path: str = "/life") -> list[str]:
    return [item["lifecycleEvent"] for item in receiver.items(path)]


def test_the_format_offers_exactly_the_events_the_notifications_side_sends() -> None:
    assert get_args(LifecycleEvent) == LIFECYCLE_EVENTS


async def test_bundled_lifecycle_scenario_reaches_a_real_receiver(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await load(client, (BUNDLED / "lifecycle.yaml").read_text())
    sub = await subscribe(client, runtime, receiver.url("/hook"), lifecycleNotificationUrl=receiver.url("/life"))

    await advance(client, runtime, "PT5M")
    assert [i["resourceData"]["id"] for i in receiver.items("/hook")] == [ADELE]
    assert lifecycle_events(receiver) == []

    await advance(client, runtime, "PT4M59S")
    assert lifecycle_events(receiver) == []  # not before the timeline reaches it
    await advance(client, runtime, "PT1S")
    items = receiver.items("/life")
    assert [i["lifecycleEvent"] for i in items] == ["missed"]
    assert items[0]["subscriptionId"] == sub["id"] and items[0]["clientState"] == "secret"
    assert items[0]["tenantId"] == "00000000-0000-4000-8000-000000000007"
    assert receiver.items("/hook") == receiver.items("/hook")[:1]  # lifecycle goes to the lifecycle URL only

    await advance(client, runtime, "PT20M")  # 30m: the subscription's own reauthorization at 15m, then removal
    assert lifecycle_events(receiver) == ["missed", "reauthorizationRequired", "subscriptionRemoved"]
    resp = await client.get(f"/v1.0/subscriptions/{sub['id']}", headers=token())
    assert resp.status == 404
    assert runtime.tenant.subscriptions.subscriptions == {}

    await advance(client, runtime, "PT5M")  # 35m: Adele's change reaches nobody now
    assert len(receiver.items("/hook")) == 1
    assert (await timeline_outcomes(client))[2:4] == [
        ("lifecycleNotification", "missed", "applied"), ("lifecycleNotification", "subscriptionRemoved", "applied")]


SCENARIO = f"""\
clock: {{start: 2026-03-02T09:00:00Z, mode: manual}}
users: [{{id: {ALICE}}}, {{id: {BOB}}}]
timeline:
  - {{at: 1m, user: {BOB}, lifecycleNotification: {{lifecycleEvent: subscriptionRemoved}}}}
  - {{at: 2m, user: {ALICE}, lifecycleNotification: {{lifecycleEvent: missed}}}}
"""


async def test_scenario_subscription_removed_does_what_the_control_plane_does(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await load(client, SCENARIO)
    by_plane = await subscribe(client, runtime, receiver.url("/plane"), user=ALICE, oid=ALICE)
    by_scenario = await subscribe(client, runtime, receiver.url("/scenario"), user=BOB, oid=BOB)
    resp = await client.post(f"/_emulator/subscriptions/{by_plane['id']}/lifecycle",
                             json={"lifecycleEvent": "subscriptionRemoved"})
    assert resp.status == 202
    await advance(client, runtime, "PT1M")

    def shape(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in ("subscriptionId", "subscriptionExpirationDateTime")}
    (plane_item,), (scenario_item,) = receiver.items("/plane"), receiver.items("/scenario")
    assert shape(plane_item) == shape(scenario_item)
    assert scenario_item["subscriptionId"] == by_scenario["id"]
    for sub in (by_plane, by_scenario):
        resp = await client.get(f"/v1.0/subscriptions/{sub['id']}", headers=token(sub["creatorId"]))
        assert resp.status == 404  # both deleted
        log = (await (await client.get(f"/_emulator/deliveries?subscriptionId={sub['id']}")).json())["value"]
        assert [(r["kind"], r["status"]) for r in log][-1] == ("lifecycle", "delivered")

    # Alice's subscription is gone, so at 2m nobody watches her: the timeline says the event was skipped.
    await advance(client, runtime, "PT1M")
    assert await timeline_outcomes(client) == [
        ("lifecycleNotification", "subscriptionRemoved", "applied"),
        ("lifecycleNotification", "missed", "skipped: no subscription watches this user")]


async def test_every_subscription_watching_the_user_gets_it_and_reset_replays(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await load(client, SCENARIO)
    await subscribe(client, runtime, receiver.url("/one"), user=ALICE, oid=ALICE)
    bulk = {"resource": f"/communications/presences?$filter=id in ('{ALICE}','{BOB}')"}
    await subscribe(client, runtime, receiver.url("/both"), user=ALICE, oid=BOB, appid=BOB, **bulk)
    await advance(client, runtime, "PT2M")
    assert lifecycle_events(receiver, "/both") == ["subscriptionRemoved"]  # watching Bob too: removed at 1m
    assert lifecycle_events(receiver, "/one") == ["missed"]
    assert len(runtime.tenant.subscriptions.subscriptions) == 1  # missed keeps it

    resp = await client.post("/_emulator/reset")
    assert resp.status == 200
    await subscribe(client, runtime, receiver.url("/again"), user=ALICE, oid=ALICE)
    await advance(client, runtime, "PT2M")
    assert lifecycle_events(receiver, "/again") == ["missed"]


@pytest.mark.parametrize(("action", "at", "expected"), [
    ("{lifecycleEvent: mised}", "mised",
     "timeline[0].lifecycleNotification.lifecycleEvent: 'mised' is not allowed (expected "
     "'reauthorizationRequired', 'subscriptionRemoved' or 'missed')"),
    ("{event: missed}", "event",
     "timeline[0].lifecycleNotification.event: unknown field 'event' (expected one of lifecycleEvent)"),
    ("missed", "missed", "timeline[0].lifecycleNotification: expected a mapping (found 'missed')"),
])
def test_a_bad_lifecycle_action_is_located(action: str, at: str, expected: str) -> None:
    event = f"  - {{at: 1m, user: {ALICE}, lifecycleNotification: {action}}}"
    text = f"users: [{{id: {ALICE}}}]\ntimeline:\n{event}\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "lc.yaml")
    column = event.index(at, event.index("lifecycleNotification")) + 1
    assert f"lc.yaml:3:{column}: {expected}" in caught.value.problems
