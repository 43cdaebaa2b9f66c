"""Change notifications delivered to real receivers: triggers, batching, retries, slow and dead endpoints,
lifecycle events, the delivery log and the interceptor hook."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from emulator.delivery.deliverer import AttemptResult, OutgoingBatch, Send
from emulator.runtime import Runtime
from emulator.subscriptions.settings import NotificationSettings
from tests.webhooks import ALICE, APP, BOB, FAST, LoopTicks, Receiver, manual_runtime, set_presence, subscribe


async def drain(runtime: Runtime) -> None:
    await asyncio.wait_for(runtime.tenant.delivery.drain(), 5)


async def test_every_kind_of_change_is_notified(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    sub = await subscribe(client, runtime, receiver.url())
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", json={
        "sessionId": "app", "availability": "Busy", "activity": "InACall", "expirationDuration": "PT5M"})
    assert resp.status == 200  # availability
    await receiver.wait_items(1)
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setPresence", json={
        "sessionId": "app", "availability": "Busy", "activity": "InAConferenceCall", "expirationDuration": "PT5M"})
    await receiver.wait_items(2)  # activity only
    resp = await client.post(f"/v1.0/users/{ALICE}/presence/setStatusMessage",
                             json={"statusMessage": {"message": {"content": "Lunch", "contentType": "text"}}})
    assert resp.status == 200
    await receiver.wait_items(3)
    runtime.tenant.presence.set_out_of_office(ALICE, True, "Away until Monday")  # as a scenario would
    await receiver.wait_items(4)
    runtime.tenant.advance(300)  # the session expires: Offline
    items = await receiver.wait_items(5)
    assert len(items) == 5
    assert items[-1]["resource"] == f"communications/presences/{ALICE}"
    assert runtime.tenant.presence.users[ALICE].availability == "Offline"
    item = items[0]
    assert item == {
        "subscriptionId": sub["id"], "clientState": "secret", "changeType": "updated",
        "tenantId": runtime.tenant.tenant_id, "resource": f"communications/presences/{ALICE}",
        "subscriptionExpirationDateTime": sub["expirationDateTime"],
        "resourceData": {"@odata.id": f"users/{ALICE}/presence", "@odata.type": "#microsoft.graph.presence",
                         "id": ALICE},
        "organizationId": runtime.tenant.tenant_id,
    }
    await set_presence(client, BOB, "Away", "Away")  # not watched: nothing arrives
    await drain(runtime)
    assert len(receiver.items()) == 5


async def test_bulk_subscription_names_the_user_who_changed(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url(),
                    resource=f"/communications/presences?$filter=id in ('{ALICE}','{BOB}')")
    await set_presence(client, BOB, "Away", "Away")
    await set_presence(client, ALICE, "Busy", "InACall")
    items = await receiver.wait_items(2)
    assert sorted(i["resource"] for i in items) == sorted(f"communications/presences/{u}" for u in (ALICE, BOB))


async def test_items_for_one_url_share_one_post(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    for oid in (ALICE, BOB, "0d5c5d2b-0000-4000-8000-000000000003"):
        await subscribe(client, runtime, receiver.url(), oid=oid, appid=oid)
    await set_presence(client, ALICE, "Busy", "InACall")
    await receiver.wait_items(3)
    assert len(receiver.received) == 1
    assert len({i["subscriptionId"] for i in receiver.items()}) == 3


async def test_failures_are_retried_with_backoff_on_the_emulated_clock(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    sub = await subscribe(client, runtime, receiver.url())
    receiver.notification["/hook"] = "fail"
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    tenant = runtime.tenant
    t0 = tenant.clock.time()
    log = tenant.delivery.log.query(subscription_id=sub["id"], kind="notification")
    assert [(r.attempt, r.status, r.http_status) for r in log] == [(1, "failed", 500)]
    assert log[0].next_retry_at == t0 + 60
    tenant.advance(59)
    await drain(runtime)
    assert len(tenant.delivery.log.query(kind="notification")) == 1  # not yet due
    tenant.advance(1)
    await drain(runtime)
    tenant.advance(120)
    await drain(runtime)
    log = tenant.delivery.log.query(kind="notification")
    assert [(r.attempt, r.status) for r in log] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert [r.next_retry_at for r in log] == [t0 + 60, t0 + 180, t0 + 420]
    receiver.notification["/hook"] = "ok"
    tenant.advance(240)
    items = await receiver.wait_items(1)
    assert items[0]["subscriptionId"] == sub["id"]
    assert tenant.delivery.log.query(kind="notification")[-1].status == "delivered"


async def test_retries_stop_after_four_hours(receiver: Receiver) -> None:
    from emulator.delivery.deliverer import Outgoing
    from emulator.delivery.transport import HttpTransport
    from emulator.tenant import Tenant, TenantSettings
    tenant = Tenant(TenantSettings(clock_mode="manual", start=0.0, notifications=FAST))
    tenant.delivery.transport = HttpTransport()
    receiver.notification["/hook"] = "fail"
    tenant.delivery.enqueue(Outgoing("s1", receiver.url(), {"subscriptionId": "s1"}, kind="lifecycle"))
    await tenant.delivery.drain()
    for _ in range(12):
        tenant.advance(3600)
        await tenant.delivery.drain()
    records = tenant.delivery.log.query()
    offsets = [r.at for r in records]
    # Backoff doubles from a minute, capped at an hour; the next retry would fall after 4 h: discarded.
    assert offsets == pytest.approx([0, 60, 180, 420, 900, 1860, 3780, 7380, 10980], abs=0.01)
    assert records[-1].status == "discarded" and records[-1].next_retry_at is None
    assert all(r.at <= 4 * 3600 for r in records)
    await tenant.delivery.transport.close()


async def test_a_dead_receiver_never_delays_a_healthy_one_nor_the_api(aiohttp_client: Any, receiver: Receiver) -> None:
    from emulator.app import create_app
    settings = NotificationSettings(validation_timeout=1.0, ack_timeout=1.0, retry_timeout=2.0)
    runtime = manual_runtime(settings)
    client = await aiohttp_client(create_app(runtime))
    receiver.notification["/dead"] = "hang"
    await subscribe(client, runtime, receiver.url("/dead"), oid=BOB, appid=BOB)
    await subscribe(client, runtime, receiver.url("/live"))
    log = runtime.tenant.delivery.log
    started = time.perf_counter()
    await set_presence(client, ALICE, "Busy", "InACall")
    api_time = time.perf_counter() - started
    await receiver.wait_items(1, "/live")
    healthy_time = time.perf_counter() - started
    # The healthy URL got its notification while the dead one's POST was still waiting for its deadline.
    assert log.query(url=receiver.url("/dead"), kind="notification") == []
    assert api_time < settings.ack_timeout and healthy_time < settings.ack_timeout
    await drain(runtime)
    dead = log.query(url=receiver.url("/dead"), kind="notification")
    assert [(r.status, r.next_retry_at is not None) for r in dead] == [("timedOut", True)]
    assert dead[0].latency_ms is not None and dead[0].latency_ms >= settings.ack_timeout * 1000 * 0.9


async def test_slow_then_drop_rules(aiohttp_client: Any, receiver: Receiver) -> None:
    from emulator.app import create_app
    runtime = manual_runtime(NotificationSettings(validation_timeout=1.5, ack_timeout=0.5, retry_timeout=1.0,
                                                  endpoint_min_samples=3))
    client = await aiohttp_client(create_app(runtime))
    await subscribe(client, runtime, receiver.url())
    tenant = runtime.tenant
    receiver.notification["/hook"] = "fail"  # fast failures: not slow
    for availability, activity in (("Busy", "InACall"), ("Away", "Away"), ("Available", "Available")):
        await set_presence(client, ALICE, availability, activity)
        await drain(runtime)
    endpoint = tenant.delivery.endpoints[receiver.url()]
    assert endpoint.state == "healthy"
    receiver.notification["/hook"] = "hang"
    tenant.advance(60)  # the three retries go out together and time out at the 10 s (here 1 s) deadline
    await drain(runtime)
    assert endpoint.state == "drop"
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    assert tenant.delivery.log.query()[-1].status == "dropped"
    receiver.notification["/hook"] = "slow:0.7"  # over the 3 s (here 0.5 s) deadline
    tenant.advance(600)
    for availability, activity in (("Away", "Away"), ("Available", "Available"), ("Busy", "InACall")):
        await set_presence(client, ALICE, availability, activity)
        await drain(runtime)
    assert endpoint.state == "slow"
    await set_presence(client, ALICE, "Away", "Away")
    await drain(runtime)
    delayed = tenant.delivery.log.query()[-1]
    assert delayed.status == "delayed" and delayed.next_retry_at == tenant.clock.time() + 600
    endpoints = await (await client.get("/_emulator/endpoints")).json()
    assert endpoints["value"][0]["state"] == "slow"


async def test_lifecycle_events(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    sub = await subscribe(client, runtime, receiver.url(), lifecycleNotificationUrl=receiver.url("/life"))
    runtime.tenant.advance(15 * 60)
    items = await receiver.wait_items(1, "/life")
    assert items[0] == {"subscriptionId": sub["id"], "subscriptionExpirationDateTime": sub["expirationDateTime"],
                        "tenantId": runtime.tenant.tenant_id, "clientState": "secret",
                        "lifecycleEvent": "reauthorizationRequired"}
    runtime.tenant.advance(15 * 60)
    await receiver.wait_items(2, "/life")
    resp = await client.post(f"/_emulator/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"})
    assert resp.status == 202
    resp = await client.post(f"/_emulator/subscriptions/{sub['id']}/lifecycle",
                             json={"lifecycleEvent": "subscriptionRemoved"})
    items = await receiver.wait_items(4, "/life")
    assert [i["lifecycleEvent"] for i in items[2:]] == ["missed", "subscriptionRemoved"]
    assert (await client.get(f"/v1.0/subscriptions/{sub['id']}")).status == 404
    resp = await client.post(f"/_emulator/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"})
    assert resp.status == 404
    bad = await client.post("/_emulator/subscriptions/x/lifecycle", json={"lifecycleEvent": "nope"})
    assert bad.status in (400, 404)


async def test_reauthorize_restarts_the_cadence(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    sub = await subscribe(client, runtime, receiver.url())
    runtime.tenant.advance(10 * 60)
    assert (await client.post(f"/v1.0/subscriptions/{sub['id']}/reauthorize")).status == 204
    runtime.tenant.advance(10 * 60)
    await drain(runtime)
    assert receiver.items() == []
    runtime.tenant.advance(5 * 60)
    items = await receiver.wait_items(1)
    assert items[0]["lifecycleEvent"] == "reauthorizationRequired"


async def test_delivery_log_filters_and_clears(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    first = await subscribe(client, runtime, receiver.url("/a"))
    await subscribe(client, runtime, receiver.url("/b"), oid=BOB, user=BOB)
    await set_presence(client, ALICE, "Busy", "InACall")
    await receiver.wait_items(1, "/a")
    await drain(runtime)
    everything = await (await client.get("/_emulator/deliveries")).json()
    assert {r["kind"] for r in everything["value"]} == {"validation", "notification"}
    mine = await (await client.get("/_emulator/deliveries", params={"subscriptionId": first["id"],
                                                                    "kind": "notification"})).json()
    assert mine["count"] == 1
    record = mine["value"][0]
    assert record["status"] == "delivered" and record["httpStatus"] == 202 and record["attempt"] == 1
    assert record["url"] == receiver.url("/a") and record["latencyMs"] > 0 and record["nextRetryDateTime"] is None
    assert record["payload"]["value"][0]["subscriptionId"] == first["id"] and record["decrypted"] is None
    assert (await client.get("/_emulator/deliveries", params={"colour": "red"})).status == 400
    assert (await client.delete("/_emulator/deliveries")).status == 204
    assert (await (await client.get("/_emulator/deliveries")).json())["count"] == 0


async def test_interceptors_see_every_post(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    async def duplicate(batch: OutgoingBatch, send: Send) -> AttemptResult:
        await send(batch)
        return await send(batch)

    runtime.tenant.delivery.interceptors.append(duplicate)
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    await receiver.wait_items(2)
    assert receiver.items()[0] == receiver.items()[1]


async def test_reset_stops_deliveries_and_forgets_subscriptions(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url())
    assert (await client.post("/_emulator/reset")).status == 200
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    assert receiver.items() == []
    assert (await (await client.get("/v1.0/subscriptions")).json())["value"] == []
    assert APP


async def test_the_ack_deadline_starts_when_the_post_leaves_not_while_it_waits_for_a_connection(
        receiver: Receiver) -> None:
    from emulator.delivery.deliverer import Outgoing
    from emulator.delivery.transport import HttpTransport
    from emulator.tenant import Tenant, TenantSettings
    # One connection to the receiver's host, three URLs each answering in 0.3 s, a 0.5 s deadline: the third
    # POST waits 0.6 s for the connection, yet each answer came within 0.3 s of its POST: all acknowledged.
    settings = NotificationSettings(ack_timeout=0.5, retry_timeout=1.0, connections_per_host=1)
    tenant = Tenant(TenantSettings(clock_mode="manual", start=0.0, notifications=settings))
    tenant.delivery.transport = HttpTransport(1)
    for n in range(3):
        receiver.notification[f"/slow{n}"] = "slow:0.3"
        tenant.delivery.enqueue(Outgoing(f"s{n}", receiver.url(f"/slow{n}"), {"subscriptionId": f"s{n}"},
                                         kind="lifecycle"))
    await asyncio.wait_for(tenant.delivery.drain(), 5)
    records = tenant.delivery.log.query()
    assert [r.status for r in records] == ["delivered"] * 3
    assert all(0.25 < r.latency_ms / 1000 < 0.5 for r in records)
    await tenant.delivery.transport.close()


async def test_a_burst_starts_its_posts_a_slice_per_loop_iteration() -> None:
    from emulator.delivery.deliverer import Outgoing, TransportResponse
    from emulator.tenant import Tenant, TenantSettings
    settings = NotificationSettings(starts_per_tick=4)
    tenant = Tenant(TenantSettings(clock_mode="manual", start=0.0, notifications=settings))
    ticks = LoopTicks()
    started_at: list[int] = []

    class Recording:
        async def post(self, url: str, body: bytes, headers: Any, timeout: float) -> TransportResponse:
            started_at.append(ticks.now)
            return TransportResponse(202, "", "")

        async def close(self) -> None:
            pass

    ticks.start()
    tenant.delivery.transport = Recording()
    for n in range(10):
        tenant.delivery.enqueue(Outgoing(f"s{n}", f"http://127.0.0.1:9/u{n}", {"subscriptionId": f"s{n}"},
                                         kind="lifecycle"))
    await asyncio.wait_for(tenant.delivery.drain(), 5)
    ticks.stop()
    # In order, four per iteration at most: the loop polls its sockets (API requests) between slices.
    assert len(started_at) == 10 and started_at == sorted(started_at)
    assert max(started_at.count(t) for t in set(started_at)) == 4
    assert len(set(started_at)) == 3
    assert [r.status for r in tenant.delivery.log.query()] == ["delivered"] * 10
