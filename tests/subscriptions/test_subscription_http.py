"""POST/GET/PATCH/DELETE /subscriptions against real receivers on 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from emulator.clock import to_timestamp
from emulator.runtime import Runtime
from tests.webhooks import ALICE, APP, BOB, START, Receiver, expiry, refused_url, subscribe, token


async def test_create_runs_the_handshake_and_clamps_to_45_minutes(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    body = await subscribe(client, runtime, receiver.url() + "?tenant=contoso", expirationDateTime=expiry(runtime, 10))
    assert len(receiver.validations) == 1
    path, echoed, content_type = receiver.validations[0]
    assert path == "/hook"
    assert echoed.startswith("Validation: Testing client application reachability")  # decoded, spaces and all
    assert content_type == "text/plain; charset=utf-8"
    assert body["@odata.context"].endswith("/v1.0/$metadata#subscriptions/$entity")
    assert body["applicationId"] == APP and body["creatorId"] == ALICE
    assert body["clientState"] == "secret" and body["changeType"] == "updated"
    assert body["notificationUrl"].endswith("/hook?tenant=contoso")
    from datetime import datetime
    assert to_timestamp(datetime.fromisoformat(body["expirationDateTime"])) == pytest.approx(START + 45 * 60, abs=0.01)


@pytest.mark.parametrize("mode", ["wrong-echo", "wrong-type", "hang", "fail"])
async def test_failed_handshake_is_400_and_nothing_is_created(
        client: TestClient, runtime: Runtime, receiver: Receiver, mode: str) -> None:
    receiver.validation["/hook"] = mode
    body = await subscribe(client, runtime, receiver.url(), status=400)
    assert body["error"]["code"] == "InvalidRequest"
    assert "validation request" in body["error"]["message"]
    assert runtime.tenant.subscriptions.subscriptions == {}
    listing = await (await client.get("/v1.0/subscriptions", headers=token())).json()
    assert listing["value"] == []


async def test_refused_connection_fails_the_handshake(client: TestClient, runtime: Runtime) -> None:
    body = await subscribe(client, runtime, refused_url(), status=400)
    assert "validation request failed" in body["error"]["message"]
    assert runtime.tenant.subscriptions.subscriptions == {}


async def test_lifecycle_url_is_validated_too(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url(), lifecycleNotificationUrl=receiver.url())
    assert [v[0] for v in receiver.validations] == ["/hook", "/hook"]  # same URL: two requests, as Graph does
    receiver.validation["/life"] = "wrong-echo"
    await subscribe(client, runtime, receiver.url(), user=BOB, oid=BOB, lifecycleNotificationUrl=receiver.url("/life"),
                    status=400)


@pytest.mark.parametrize(("extra", "code"), [
    ({"expirationDateTime": "2020-01-01T00:00:00Z"}, "ExtensionError"),
    ({"changeType": "created"}, "InvalidRequest"),
    ({"clientState": "x" * 129}, "InvalidRequest"),
    ({"resource": "users/{id}/presence"}, "InvalidRequest"),
    ({"resource": "communications/presences/not-a-guid"}, "InvalidRequest"),
    ({"resource": "/communications/presences?$filter=id in (" + ",".join(
        f"'{i:08d}-0000-4000-8000-000000000000'" for i in range(651)) + ")"}, "InvalidRequest"),
    ({"includeResourceData": True}, "InvalidRequest"),
    ({"notificationUrl": "ftp://example/hook"}, "InvalidRequest"),
    ({"vapidPublicKey": "abc"}, "InvalidArgument"),
    ({"expirationDateTime": "tomorrow"}, "InvalidArgument"),
])
async def test_rules_refuse_bad_requests_before_any_handshake(
        client: TestClient, runtime: Runtime, receiver: Receiver, extra: dict[str, object], code: str) -> None:
    body = await subscribe(client, runtime, receiver.url(), status=400, **extra)
    assert body["error"]["code"] == code
    assert receiver.validations == []


async def test_more_than_60_minutes_ahead_is_refused(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    body = await subscribe(client, runtime, receiver.url(), status=400, expirationDateTime=expiry(runtime, 61))
    assert "60 minutes" in body["error"]["message"]
    await subscribe(client, runtime, receiver.url(), expirationDateTime=expiry(runtime, 60))


async def test_one_subscription_per_user_per_application(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    await subscribe(client, runtime, receiver.url())
    again = await subscribe(client, runtime, receiver.url(), user=BOB, status=409)
    assert again["error"]["code"] == "ExtensionError"
    assert "already exists" in again["error"]["message"]
    same_resource = await subscribe(client, runtime, receiver.url(), oid=BOB, status=409)  # same app and resource
    assert "already exists for the requested combination" in same_resource["error"]["message"]
    await subscribe(client, runtime, receiver.url(), oid=BOB, user=BOB)  # another user of the same app
    await subscribe(client, runtime, receiver.url(), appid="22222222-2222-4333-8444-555555555555")  # another app


async def test_bulk_resource(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    resource = f"/communications/presences?$filter=id in ('{ALICE}', '{BOB.upper()}')"
    body = await subscribe(client, runtime, receiver.url(), resource=resource)
    assert body["resource"] == resource
    assert runtime.tenant.subscriptions.get(body["id"]).resource.user_ids == (ALICE, BOB)


async def test_list_hides_client_state_and_get_shows_it(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    created = await subscribe(client, runtime, receiver.url())
    listing = await (await client.get("/beta/subscriptions", headers=token())).json()
    assert listing["@odata.context"].endswith("/beta/$metadata#subscriptions")
    assert [s["id"] for s in listing["value"]] == [created["id"]]
    assert listing["value"][0]["clientState"] is None
    other_app = await (await client.get("/v1.0/subscriptions", headers=token(appid=BOB))).json()
    assert other_app["value"] == []
    one = await (await client.get(f"/v1.0/subscriptions/{created['id']}")).json()
    assert one["clientState"] == "secret"


async def test_expiry_deletes_and_patch_after_is_404(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    created = await subscribe(client, runtime, receiver.url())  # 50 minutes
    runtime.tenant.advance(49 * 60)
    assert (await client.get(f"/v1.0/subscriptions/{created['id']}")).status == 200
    runtime.tenant.advance(61)
    assert (await client.get(f"/v1.0/subscriptions/{created['id']}")).status == 404
    resp = await client.patch(f"/v1.0/subscriptions/{created['id']}", json={"expirationDateTime": expiry(runtime)})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "ResourceNotFound"


async def test_renewal_keeps_it_alive(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    created = await subscribe(client, runtime, receiver.url())
    runtime.tenant.advance(40 * 60)
    resp = await client.patch(f"/v1.0/subscriptions/{created['id']}", json={"expirationDateTime": expiry(runtime, 55)})
    assert resp.status == 200
    renewed = await resp.json()
    assert renewed["@odata.context"].endswith("$metadata#subscriptions/$entity")
    assert len(receiver.validations) == 1  # same URL: no new handshake
    runtime.tenant.advance(50 * 60)
    assert (await client.get(f"/v1.0/subscriptions/{created['id']}")).status == 200
    runtime.tenant.advance(6 * 60)
    assert (await client.get(f"/v1.0/subscriptions/{created['id']}")).status == 404


async def test_patch_to_a_new_url_repeats_the_handshake(
        client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    created = await subscribe(client, runtime, receiver.url())
    receiver.validation["/bad"] = "wrong-echo"
    resp = await client.patch(f"/v1.0/subscriptions/{created['id']}", json={"notificationUrl": receiver.url("/bad")})
    assert resp.status == 400
    assert runtime.tenant.subscriptions.get(created["id"]).notification_url == receiver.url()
    resp = await client.patch(f"/v1.0/subscriptions/{created['id']}", json={"notificationUrl": receiver.url("/new")})
    assert resp.status == 200
    assert [v[0] for v in receiver.validations] == ["/hook", "/bad", "/new"]
    resp = await client.patch(f"/v1.0/subscriptions/{created['id']}",
                              json={"expirationDateTime": expiry(runtime, 90)})
    assert resp.status == 400


async def test_delete_and_reauthorize(client: TestClient, runtime: Runtime, receiver: Receiver) -> None:
    created = await subscribe(client, runtime, receiver.url())
    assert (await client.post(f"/v1.0/subscriptions/{created['id']}/reauthorize")).status == 204
    assert (await client.delete(f"/v1.0/subscriptions/{created['id']}")).status == 204
    assert (await client.delete(f"/v1.0/subscriptions/{created['id']}")).status == 404
    assert (await client.post(f"/v1.0/subscriptions/{created['id']}/reauthorize")).status == 404


async def test_strict_https_setting(receiver: Receiver) -> None:
    from emulator.subscriptions.model import InvalidSubscription
    from emulator.subscriptions.settings import NotificationSettings
    from emulator.tenant import Tenant, TenantSettings
    tenant = Tenant(TenantSettings(clock_mode="manual", start=START,
                                   notifications=NotificationSettings(require_https=True)))
    with pytest.raises(InvalidSubscription, match="https"):
        tenant.subscriptions.check_url(receiver.url(), "notificationUrl")
    assert tenant.subscriptions.check_url("https://127.0.0.1/x", "notificationUrl")
    strict = Tenant(TenantSettings(clock_mode="manual", start=START, auth="strict"))
    with pytest.raises(InvalidSubscription, match="https"):
        strict.subscriptions.check_url(receiver.url(), "notificationUrl")
    assert Tenant(TenantSettings(auth="decode")).subscriptions.check_url(receiver.url(), "notificationUrl")
