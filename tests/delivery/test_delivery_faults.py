"""Delivery fault rules (target: delivery) carried out by the deliverer: duplicated, delayed, out of order."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from emulator.runtime import Runtime
from tests.webhooks import ALICE, BOB, Receiver, set_presence, subscribe


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


async def test_an_out_of_order_notification_arrives_after_the_next_one(client: TestClient, runtime: Runtime,
                                                                        receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url(), user=ALICE)
    await subscribe(client, runtime, receiver.url(), user=BOB, appid="22222222-2222-4222-8222-222222222222")
    await add_rule(client, {"resource": f"communications/presences/{ALICE}", "outOfOrder": True, "times": 1})
    await set_presence(client, ALICE, "Busy", "InACall")
    await drain(runtime)
    assert receiver.items() == []  # held back
    await set_presence(client, BOB, "Away", "Away")
    items = await receiver.wait_items(2)
    assert [item["resource"].rsplit("/", 1)[-1] for item in items] == [BOB, ALICE]


async def test_without_delivery_rules_nothing_changes(client: TestClient, runtime: Runtime,
                                                      receiver: Receiver) -> None:
    await add_rule(client, {"subscriptionId": "another", "duplicate": 3})
    await subscribe(client, runtime, receiver.url())
    await set_presence(client, ALICE, "Busy", "InACall")
    await receiver.wait_items(1)
    await drain(runtime)
    assert len(receiver.items()) == 1
