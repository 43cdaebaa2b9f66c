"""The webhook receiver: the validation handshake, recording, and the ways it can misbehave on request."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import aiohttp
import pytest

from emulator.receiver import WebhookReceiver, WebhookReceiverThread

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "0b3b1d8f-2a55-4ec1-8b7d-5a1a5c2d7f31"


def change(user: str, **extra: object) -> dict[str, object]:
    return {"subscriptionId": "sub-1", "changeType": "updated", "clientState": "secret",
            "resource": f"communications/presences/{user}",
            "resourceData": {"@odata.id": f"users/{user}/presence", "@odata.type": "#microsoft.graph.presence",
                             "id": user}, **extra}


async def test_handshake_echoes_the_url_decoded_token_as_text() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        token = "Validation: Testing client application reachability for subscription Request-Id: 1+2/3"
        resp = await http.post(receiver.url, params={"validationToken": token},
                               headers={"Content-Type": "text/plain; charset=utf-8"})
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        assert await resp.text() == token
        assert [h.token for h in receiver.handshakes] == [token]
        assert receiver.notifications == []


async def test_records_items_and_waits_for_each_users_next_one() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        resp = await http.post(receiver.url, json={"value": [change(ALICE), change(BOB)],
                                                   "validationTokens": ["jwt"]})
        assert resp.status == 202
        bob = await receiver.next_notification(BOB, timeout=1)
        assert (bob.user_id, bob.client_state, bob.validation_tokens) == (BOB, "secret", ("jwt",))
        alice = await receiver.next_notification(timeout=1)
        assert alice.user_id == ALICE and alice["changeType"] == "updated"
        with pytest.raises(AssertionError, match=f"a change notification for user {ALICE} did not arrive.*2 item"):
            await receiver.next_notification(ALICE, timeout=0.05)


async def test_waiting_returns_when_the_notification_arrives() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        waiting = asyncio.ensure_future(receiver.next_notification(ALICE, timeout=5))
        await asyncio.sleep(0)
        assert not waiting.done()
        await http.post(receiver.url, json={"value": [change(BOB)]})
        await http.post(receiver.url, json={"value": [change(ALICE)]})
        assert (await asyncio.wait_for(waiting, 5)).user_id == ALICE


async def test_lifecycle_events_are_kept_apart_from_changes() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        lifecycle = {"subscriptionId": "sub-1", "lifecycleEvent": "reauthorizationRequired",
                     "resource": "communications/presences/" + ALICE}
        await http.post(receiver.lifecycle_url, json={"value": [lifecycle]})
        event = await receiver.next_lifecycle_event("reauthorizationRequired", timeout=1)
        assert event.path == "/lifecycle"
        with pytest.raises(AssertionError):
            await receiver.next_notification(ALICE, timeout=0.05)


async def test_fail_answers_with_the_status_but_still_records() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        receiver.fail(500)
        resp = await http.post(receiver.url, json={"value": [change(ALICE)]})
        assert resp.status == 500
        resp = await http.post(receiver.url, params={"validationToken": "t"})
        assert (resp.status, await resp.text()) == (200, "t")  # the handshake is unaffected unless asked
        receiver.fail(403, handshake=True)
        resp = await http.post(receiver.url, params={"validationToken": "t"})
        assert resp.status == 403
        receiver.answer()
        resp = await http.post(receiver.url, json={"value": [change(ALICE)]})
        assert resp.status == 202
        assert len(receiver.notifications) == 2
        assert [status for _, status in receiver.answers] == [500, 200, 403, 202]


async def test_stall_never_answers_and_slow_answers_late() -> None:
    async with WebhookReceiver() as receiver, aiohttp.ClientSession() as http:
        receiver.stall()
        with pytest.raises(asyncio.TimeoutError):
            await http.post(receiver.url, json={"value": [change(ALICE)]}, timeout=aiohttp.ClientTimeout(total=0.2))
        assert (await receiver.next_notification(ALICE, timeout=1)).user_id == ALICE
        receiver.slow(0.2)
        began = time.monotonic()
        resp = await http.post(receiver.url, json={"value": [change(ALICE)]})
        assert resp.status == 202 and time.monotonic() - began >= 0.2


def test_thread_form_for_synchronous_tests() -> None:
    with WebhookReceiverThread() as receiver:
        request = urllib.request.Request(receiver.url, data=json.dumps({"value": [change(ALICE)]}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            assert resp.status == 202
        assert receiver.next_notification(ALICE, timeout=1).user_id == ALICE
        assert len(receiver.notifications) == 1
        receiver.fail(502)
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request)
        assert failed.value.code == 502
