"""The subscription domain without HTTP: resource parsing, rules, expiry and the lifecycle cadence."""

from __future__ import annotations

import pytest

from emulator.presence.directory import UnknownUser
from emulator.subscriptions.model import InvalidSubscription, parse_resource
from emulator.subscriptions.store import SubscriptionStore
from emulator.tenant import Tenant, TenantSettings
from tests.webhooks import ALICE, BOB, START, LoopTicks

URL = "http://127.0.0.1:9/hook"


def test_resource_forms() -> None:
    assert parse_resource(f"communications/presences/{ALICE.upper()}", 650).user_ids == (ALICE,)
    assert parse_resource(f"/communications/presences/{ALICE}", 650).bulk is False
    bulk = parse_resource(f'/communications/presences?$filter=id in ("{ALICE}",\'{BOB}\' , \'{ALICE}\')', 650)
    assert bulk.bulk and bulk.user_ids == (ALICE, BOB)
    encoded = parse_resource(f"/communications/presences?$filter=id%20in%20(%27{ALICE}%27)", 650)
    assert encoded.user_ids == (ALICE,)
    for bad in ("communications/presences", f"communications/presences?$filter=id in ({ALICE})",
                "communications/presences?$filter=id in ()", f"users/{ALICE}/presence",
                f"communications/presences?$filter=id in ('{ALICE}' '{BOB}')"):
        with pytest.raises(InvalidSubscription):
            parse_resource(bad, 650)
    with pytest.raises(InvalidSubscription, match="at most 2"):
        parse_resource(f"communications/presences?$filter=id in ('{ALICE}','{BOB}','{ALICE[:-1]}0')", 2)


def draft_and_add(store: SubscriptionStore, user: str = ALICE, minutes: float = 50, **extra: object) -> str:
    draft = store.draft(resource=f"communications/presences/{user}", change_type="updated", notification_url=URL,
                        expiration=store.clock.time() + minutes * 60, application_id="app", creator_id=user,
                        **extra)  # type: ignore[arg-type]
    return store.add(draft).id


def queued(tenant: Tenant) -> list[dict[str, object]]:
    endpoint = tenant.delivery.endpoints.get(URL)
    return [p.outgoing.item for p in endpoint.ready] if endpoint else []


def test_cadence_expiry_and_fan_out_without_a_loop() -> None:
    tenant = Tenant(TenantSettings(clock_mode="manual", start=START))
    sub_id = draft_and_add(tenant.subscriptions)
    tenant.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=3600)
    tenant.advance(50 * 60 + 1)
    kinds = [(i.get("lifecycleEvent"), i.get("changeType")) for i in queued(tenant)]
    assert kinds == [(None, "updated")] + [("reauthorizationRequired", None)] * 3  # at 15, 30 and 45 minutes
    assert sub_id not in tenant.subscriptions.subscriptions
    tenant.presence.set_session(ALICE, "s", "Away", "Away", expires_in=3600)
    assert len(queued(tenant)) == 4  # expired: nothing more


def test_restricted_users_and_rules() -> None:
    tenant = Tenant(TenantSettings(clock_mode="manual", start=START, restrict_users=True))
    with pytest.raises(UnknownUser):
        draft_and_add(tenant.subscriptions)
    tenant.presence.add_user(ALICE)
    tenant.presence.add_user(BOB)
    draft_and_add(tenant.subscriptions)
    with pytest.raises(InvalidSubscription, match="latestSupportedTlsVersion"):
        draft_and_add(tenant.subscriptions, BOB, latest_supported_tls_version="v2")
    with pytest.raises(InvalidSubscription, match="lifecycleEvent"):
        tenant.subscriptions.send_lifecycle(next(iter(tenant.subscriptions.subscriptions)), "poked")


def test_lifecycle_to_every_watcher_of_a_user() -> None:
    tenant = Tenant(TenantSettings(clock_mode="manual", start=START))
    first = draft_and_add(tenant.subscriptions)
    tenant.subscriptions.add(tenant.subscriptions.draft(
        resource=f"/communications/presences?$filter=id in ('{ALICE}','{BOB}')", change_type="updated",
        notification_url=URL, expiration=START + 3000, application_id="other", creator_id=BOB))
    sent = tenant.subscriptions.send_lifecycle_to_watchers(ALICE.upper(), "subscriptionRemoved")
    assert first in {s.id for s in sent} and len(sent) == 2
    assert [i["lifecycleEvent"] for i in queued(tenant)] == ["subscriptionRemoved"] * 2
    assert tenant.subscriptions.subscriptions == {}


async def test_a_change_watched_by_many_is_built_a_slice_per_loop_iteration() -> None:
    import asyncio

    from emulator.subscriptions.store import FAN_OUT_SLICE
    tenant = Tenant(TenantSettings(clock_mode="manual", start=START))
    store = tenant.subscriptions
    count = 2 * FAN_OUT_SLICE + 50
    ids = [store.add(store.draft(resource=f"communications/presences/{ALICE}", change_type="updated",
                                 notification_url=f"{URL}/{n}", expiration=store.clock.time() + 3000,
                                 application_id=f"app{n}", creator_id=f"app{n}")).id for n in range(count)]
    ticks = LoopTicks()
    built: list[tuple[int, str]] = []
    tenant.delivery.enqueue = lambda outgoing: built.append((ticks.now, outgoing.subscription_id))  # type: ignore[method-assign]

    ticks.start()
    tenant.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=3600)
    assert built == []  # the API request that made the change is answered first
    await asyncio.wait_for(tenant.delivery.drain(), 5)  # drain waits for the whole fan-out
    ticks.stop()
    assert [sub for _, sub in built] == ids  # every watcher, in order
    per_tick = [t for t, _ in built]
    assert len(set(per_tick)) == 3 and max(per_tick.count(t) for t in set(per_tick)) == FAN_OUT_SLICE
