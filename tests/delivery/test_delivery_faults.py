"""Delivery fault rules (target: delivery) carried out by the deliverer: duplicated, delayed, out of order."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient

from emulator.clock import format_graph_datetime, to_timestamp
from emulator.runtime import Runtime
from tests.webhooks import ALICE, BOB, START, Receiver, set_presence, subscribe


async def add_rule(client: TestClient, rule: dict[str, Any]) -> None:
    resp = await client.post("/_emulator/faults", json={"target": "delivery", **rule})
    assert resp.status == 201, await resp.text()


async def drain(runtime: Runtime) -> None:
    await asyncio.wait_for(runtime.tenant.delivery.drain(), 5)


async def test_a_duplicated_notification_arrives_twice(client: TestClient, runtime: Runtime,
                                                       receiver: Receiver) -> None:
    await add_rule(client, {"id": "twice", "changeType": "updated", "duplicate": 1, "times": 1})
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    items = await receiver.wait_items(2)
    assert items[0] == items[1]
    await set_presence(client, ALICE, "Available", "Available")
    await receiver.wait_items(3)
    await drain(runtime)
    assert len(receiver.items()) == 3  # times: 1, so the second change is sent once
    rule = await (await client.get("/_emulator/faults/twice")).json()
    assert (rule["matched"], rule["fired"]) == (2, 1)


async def test_a_delayed_notification_waits_on_the_emulated_clock(client: TestClient, runtime: Runtime,
                                                                  receiver: Receiver) -> None:
    await add_rule(client, {"resource": "communications/presences/*", "delay": "PT30S"})
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    await asyncio.sleep(0.2)  # real time for a POST that would go out at once
    assert receiver.items() == []
    await client.post("/_emulator/clock/advance", data="PT29S")
    await asyncio.sleep(0.1)
    assert receiver.items() == []
    await client.post("/_emulator/clock/advance", data="PT1S")
    await receiver.wait_items(1)


async def deliveries(client: TestClient, **query: str) -> list[dict[str, Any]]:
    resp = await client.get("/_emulator/deliveries", params={"kind": "notification", **query})
    assert resp.status == 200, await resp.text()
    records: list[dict[str, Any]] = (await resp.json())["value"]
    return records


def whose(record: dict[str, Any]) -> str:
    return str(record["payload"]["value"][0]["resource"].rsplit("/", 1)[-1])


async def test_an_out_of_order_notification_arrives_after_the_next_one(client: TestClient, runtime: Runtime,
                                                                        receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url(), user=ALICE)
    await subscribe(client, runtime, receiver.url(), user=BOB, appid="22222222-2222-4222-8222-222222222222")
    await add_rule(client, {"resource": f"communications/presences/{ALICE}", "outOfOrder": True, "times": 1})
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    assert receiver.items() == []  # held back, and the log says so (not "delivered")
    [held] = await deliveries(client)
    assert (whose(held), held["status"], held["outcome"], held["httpStatus"]) == (ALICE, "held", "held", None)
    assert held["holdUntil"] == format_graph_datetime(START + 60)  # the default holdFor: PT1M
    assert held["releaseCondition"] == f"after the next POST to this URL, or at {held['holdUntil']} if none comes"
    await client.post("/_emulator/clock/advance", data="PT10S")
    await set_presence(client, BOB, "Away", "Away")
    items = await receiver.wait_items(2)
    assert [item["resource"].rsplit("/", 1)[-1] for item in items] == [BOB, ALICE]
    await drain(runtime)
    first, bob, alice = await deliveries(client)
    assert (first["id"], first["status"], first["releasedDateTime"]) == (held["id"], "released",
                                                                         format_graph_datetime(START + 10))
    assert (whose(bob), bob["status"], bob["httpStatus"]) == (BOB, "delivered", 202)
    assert (whose(alice), alice["status"], alice["outcome"], alice["httpStatus"]) == (ALICE, "delivered",
                                                                                      "delivered", 202)
    assert (alice["releasedBy"], alice["heldSince"]) == ("nextPost", format_graph_datetime(START))
    assert alice["payload"] == held["payload"]
    await client.post("/_emulator/clock/advance", data="PT2M")  # the hold's timer was cancelled: no third POST
    await drain(runtime)
    assert len(receiver.items()) == 2
    assert len(await deliveries(client)) == 3


async def test_a_held_notification_goes_out_when_its_hold_expires(client: TestClient, runtime: Runtime,
                                                                   receiver: Receiver) -> None:
    await add_rule(client, {"changeType": "updated", "outOfOrder": True, "holdFor": "PT2M", "times": 1})
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    [held] = await deliveries(client)
    assert (held["status"], held["holdUntil"]) == ("held", format_graph_datetime(START + 120))
    await client.post("/_emulator/clock/advance", data="PT119S")
    await drain(runtime)
    assert receiver.items() == []
    assert [r["status"] for r in await deliveries(client)] == ["held"]
    await client.post("/_emulator/clock/advance", data="PT1S")
    await drain(runtime)
    [item] = receiver.items()
    assert item["resource"].endswith(ALICE)
    released, sent = await deliveries(client)
    assert (released["status"], released["releasedDateTime"]) == ("released", format_graph_datetime(START + 120))
    assert (sent["status"], sent["httpStatus"], sent["releasedBy"]) == ("delivered", 202, "holdExpired")
    assert sent["dateTime"] == format_graph_datetime(START + 120)


async def test_a_post_released_by_its_hold_end_is_the_urls_only_post_in_flight(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await add_rule(client, {"resource": f"communications/presences/{ALICE}", "outOfOrder": True,
                            "holdFor": "PT30S", "times": 1})
    await subscribe(client, runtime, receiver.url(), user=ALICE)
    await subscribe(client, runtime, receiver.url(), user=BOB, appid="22222222-2222-4222-8222-222222222222")
    in_flight, most = 0, 0
    behave = receiver._behave

    async def counting(mode: str) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.2)  # real time: the receiver is slow, so the two POSTs would overlap
            return await behave(mode)
        finally:
            in_flight -= 1
    receiver._behave = counting  # type: ignore[method-assign]
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    await client.post("/_emulator/clock/advance", data="PT30S")  # the hold ends: ALICE's POST goes out
    await asyncio.sleep(0.05)
    await set_presence(client, BOB, "Away", "Away")  # while it is in flight
    items = await receiver.wait_items(2)
    assert [item["resource"].rsplit("/", 1)[-1] for item in items] == [ALICE, BOB]
    assert most == 1


async def test_a_released_notification_that_fails_is_retried_like_any_other(client: TestClient, runtime: Runtime,
                                                                            receiver: Receiver) -> None:
    await add_rule(client, {"changeType": "updated", "outOfOrder": True, "holdFor": "PT30S", "times": 1})
    await subscribe(client, runtime, receiver.url())
    receiver.notification["/hook"] = "fail"
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    await client.post("/_emulator/clock/advance", data="PT30S")
    await drain(runtime)
    released, failed = await deliveries(client)
    assert released["status"] == "released"
    assert (failed["status"], failed["httpStatus"], failed["releasedBy"]) == ("failed", 500, "holdExpired")
    assert failed["nextRetryDateTime"] is not None
    receiver.notification["/hook"] = "ok"
    retry_at = to_timestamp(datetime.fromisoformat(failed["nextRetryDateTime"]))
    wait = retry_at - runtime.tenant.clock.time()
    assert wait > 0
    await client.post("/_emulator/clock/advance", data=f"PT{wait:g}S")
    [item] = await receiver.wait_items(1)
    assert item["resource"].endswith(ALICE)
    await drain(runtime)
    retried = (await deliveries(client))[-1]
    assert (retried["status"], retried["attempt"], retried["dateTime"]) == ("delivered", 2,
                                                                           failed["nextRetryDateTime"])


async def test_without_delivery_rules_nothing_changes(client: TestClient, runtime: Runtime,
                                                      receiver: Receiver) -> None:
    await add_rule(client, {"subscriptionId": "another", "duplicate": 3})
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    await receiver.wait_items(1)
    await drain(runtime)
    assert len(receiver.items()) == 1
