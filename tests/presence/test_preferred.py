"""Preferred presence: over live sessions only, with its default expiries (decisions.md)."""

from __future__ import annotations

import pytest

from emulator.tenant import Tenant
from tests.presence.test_aggregation import ALICE, shown

DAY = 86400.0


def test_preferred_only_shows_over_a_live_session(tenant: Tenant) -> None:
    tenant.presence.set_preferred(ALICE, "DoNotDisturb", "DoNotDisturb", expires_in=None)
    assert shown(tenant) == ("Offline", "Offline")
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=300)
    assert shown(tenant) == ("DoNotDisturb", "DoNotDisturb")
    tenant.advance(300)  # the only session expires: back to Offline although preferred is still set
    assert shown(tenant) == ("Offline", "Offline")
    assert tenant.presence.users[ALICE].preferred is not None
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=300)
    assert shown(tenant) == ("DoNotDisturb", "DoNotDisturb")


def test_preferred_overrides_even_a_higher_ranked_session(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "DoNotDisturb", "Presenting", expires_in=3600)
    tenant.presence.set_preferred(ALICE, "Offline", "OffWork", expires_in=None)
    assert shown(tenant) == ("Offline", "OffWork")


def test_preferred_is_not_faded(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=4 * 3600)
    tenant.presence.set_preferred(ALICE, "Available", "Available", expires_in=None)
    tenant.advance(15 * 60)
    assert shown(tenant) == ("Available", "Available")


@pytest.mark.parametrize(("pair", "days"), [
    (("Busy", "Busy"), 1), (("DoNotDisturb", "DoNotDisturb"), 1),
    (("Available", "Available"), 7), (("Away", "Away"), 7), (("BeRightBack", "BeRightBack"), 7),
    (("Offline", "OffWork"), 7),
])
def test_default_expiry_then_the_sessions_show_again(tenant: Tenant, pair: tuple[str, str], days: int) -> None:
    tenant.presence.set_session(ALICE, "teams", "Busy", "InAMeeting", expires_in=None)
    tenant.presence.set_preferred(ALICE, *pair, expires_in=None)
    assert shown(tenant) == pair
    tenant.advance(days * DAY - 1)
    assert shown(tenant) == pair
    tenant.advance(1)
    assert shown(tenant) == ("Busy", "InAMeeting")
    assert tenant.presence.users[ALICE].preferred is None


def test_explicit_expiry_and_replacement(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "teams", "Available", "Available", expires_in=None, fades=False)
    tenant.presence.set_preferred(ALICE, "Busy", "Busy", expires_in=3600)
    tenant.advance(1800)
    tenant.presence.set_preferred(ALICE, "Away", "Away", expires_in=3600)  # replaces; the old expiry is void
    tenant.advance(1800)
    assert shown(tenant) == ("Away", "Away")
    tenant.advance(1800)
    assert shown(tenant) == ("Available", "Available")


def test_clear_preferred(tenant: Tenant) -> None:
    assert tenant.presence.clear_preferred(ALICE) is None  # none set: fine, nothing created
    assert ALICE not in tenant.presence.users
    tenant.presence.set_session(ALICE, "teams", "Available", "Available", expires_in=None, fades=False)
    tenant.presence.set_preferred(ALICE, "DoNotDisturb", "DoNotDisturb", expires_in=None)
    tenant.presence.clear_preferred(ALICE)
    assert shown(tenant) == ("Available", "Available")
    number = tenant.presence.users[ALICE].sequence_number
    tenant.presence.clear_preferred(ALICE)
    assert tenant.presence.users[ALICE].sequence_number == number
    assert tenant.advance(2 * DAY) == 0  # the cleared preference's expiry does not fire
