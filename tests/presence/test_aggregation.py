"""How sessions aggregate into the one presence Graph shows (decisions.md, "Sessions and aggregation")."""

from __future__ import annotations

import pytest

from emulator.presence.directory import PresenceChange, SessionNotFound
from emulator.tenant import Tenant

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


def shown(tenant: Tenant, user: str = ALICE) -> tuple[str, str]:
    found = tenant.presence.find(user)
    if found is None:
        return "never", "seen"
    return found.availability, found.activity


def put(tenant: Tenant, session: str, availability: str, activity: str) -> None:
    tenant.presence.set_session(ALICE, session, availability, activity, expires_in=3600, fades=False)


def test_highest_ranked_session_wins(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "desktop", "Available", "Available", expires_in=None, fades=False)
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    assert shown(tenant) == ("Busy", "InACall")
    tenant.presence.clear_session(ALICE, "app")
    assert shown(tenant) == ("Available", "Available")


# Each pair: the higher-ranked session first. Order of setting must not matter.
RANKED = [
    (("DoNotDisturb", "Presenting"), ("Busy", "InACall")),
    (("Busy", "InACall"), ("Available", "Available")),
    (("Available", "Available"), ("Away", "Away")),
    (("Available", "Available"), ("BeRightBack", "BeRightBack")),
    (("Away", "Away"), ("Offline", "OffWork")),
    (("BeRightBack", "BeRightBack"), ("Offline", "OffWork")),
    (("DoNotDisturb", "Presenting"), ("Offline", "OffWork")),
]


@pytest.mark.parametrize(("high", "low"), RANKED)
@pytest.mark.parametrize("high_first", [True, False])
def test_rank_order(tenant: Tenant, high: tuple[str, str], low: tuple[str, str], high_first: bool) -> None:
    first, second = (high, low) if high_first else (low, high)
    put(tenant, "one", *first)
    put(tenant, "two", *second)
    assert shown(tenant) == high


@pytest.mark.parametrize("away_first", [True, False])
def test_be_right_back_ranks_with_away_so_the_latest_supplies_the_activity(tenant: Tenant, away_first: bool) -> None:
    order = [("away", "Away", "Away"), ("brb", "BeRightBack", "BeRightBack")]
    if not away_first:
        order.reverse()
    for session, availability, activity in order:
        put(tenant, session, availability, activity)
    assert shown(tenant) == order[-1][1:]


def test_most_recently_set_session_supplies_the_activity_among_equal_ranks(tenant: Tenant) -> None:
    put(tenant, "phone", "Busy", "InACall")
    put(tenant, "laptop", "Busy", "InAConferenceCall")
    assert shown(tenant) == ("Busy", "InAConferenceCall")
    # Same instant on the manual clock: setting "phone" again makes it the most recent all the same.
    put(tenant, "phone", "Busy", "InACall")
    assert shown(tenant) == ("Busy", "InACall")
    tenant.advance(60)
    put(tenant, "laptop", "Busy", "InAConferenceCall")
    assert shown(tenant) == ("Busy", "InAConferenceCall")


def test_a_higher_rank_beats_a_more_recent_lower_one(tenant: Tenant) -> None:
    put(tenant, "app", "Busy", "InACall")
    tenant.advance(60)
    put(tenant, "teams", "Available", "Available")
    assert shown(tenant) == ("Busy", "InACall")


def test_set_presence_on_an_existing_session_replaces_it(tenant: Tenant) -> None:
    put(tenant, "app", "Busy", "InACall")
    put(tenant, "app", "Away", "Away")
    assert shown(tenant) == ("Away", "Away")
    assert list(tenant.presence.users[ALICE].sessions) == ["app"]


def test_no_session_reads_offline(tenant: Tenant) -> None:
    assert tenant.presence.find(ALICE) is None  # never seen: the wire layer shows Offline/Offline
    put(tenant, "app", "Busy", "InACall")
    tenant.presence.clear_session(ALICE, "app")
    assert shown(tenant) == ("Offline", "Offline")


def test_clearing_an_unknown_session_raises_and_changes_nothing(tenant: Tenant) -> None:
    with pytest.raises(SessionNotFound):
        tenant.presence.clear_session(ALICE, "app")
    assert ALICE not in tenant.presence.users  # the failed call created no user
    put(tenant, "app", "Busy", "InACall")
    before = tenant.presence.users[ALICE].sequence_number
    with pytest.raises(SessionNotFound):
        tenant.presence.clear_session(ALICE, "other")
    assert shown(tenant) == ("Busy", "InACall")
    assert tenant.presence.users[ALICE].sequence_number == before


def test_user_ids_are_case_insensitive(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE.upper(), "app", "Busy", "InACall", expires_in=3600)
    assert shown(tenant, ALICE) == ("Busy", "InACall")
    tenant.presence.clear_session(ALICE.upper(), "app")
    assert shown(tenant, ALICE) == ("Offline", "Offline")


def test_listeners_get_each_visible_change(tenant: Tenant) -> None:
    changes: list[tuple[PresenceChange, tuple[str, str]]] = []
    tenant.presence.listeners.append(lambda c: changes.append((c, (c.user.availability, c.user.activity))))
    put(tenant, "app", "Busy", "InACall")
    put(tenant, "app", "Busy", "InACall")  # nothing visible changed: no event
    tenant.presence.clear_session(ALICE, "app")
    assert [(c.previous, now, c.parts) for c, now in changes] == [
        (("Offline", "Offline"), ("Busy", "InACall"), frozenset({"presence"})),
        (("Busy", "InACall"), ("Offline", "Offline"), frozenset({"presence"})),
    ]
    assert changes[0][0].sequence_number < changes[1][0].sequence_number
    assert changes[1][0].sequence_number == tenant.presence.users[ALICE].sequence_number


def test_a_failing_listener_neither_blocks_nor_undoes_the_change(tenant: Tenant) -> None:
    seen: list[str] = []

    def broken(change: PresenceChange) -> None:
        raise RuntimeError("observer bug")

    tenant.presence.listeners.extend([broken, lambda c: seen.append(c.user.activity)])
    put(tenant, "app", "Busy", "InACall")
    assert shown(tenant) == ("Busy", "InACall")
    assert seen == ["InACall"]
