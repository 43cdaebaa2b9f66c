"""Status messages (and their expiry) and out-of-office display."""

from __future__ import annotations

from emulator.presence.directory import PresenceChange, StatusExpiry
from emulator.tenant import Tenant
from tests.presence.test_aggregation import ALICE, shown


def test_status_message_set_expire_and_clear(tenant: Tenant) -> None:
    now = tenant.clock.time()
    changes: list[PresenceChange] = []
    tenant.presence.listeners.append(changes.append)
    user = tenant.presence.set_status_message(ALICE, "In a meeting",
                                              expiry=StatusExpiry(now + 3600, "2026-09-21T15:13:20", "UTC"))
    assert user.status_message is not None and user.status_message.content == "In a meeting"
    assert user.status_message.published_at == now
    tenant.advance(3599)
    assert user.status_message is not None
    tenant.advance(1)
    assert user.status_message is None
    assert [c.parts for c in changes] == [frozenset({"statusMessage"})] * 2
    assert changes[1].at == now + 3600


def test_status_message_without_expiry_stays_and_replacing_voids_the_old_expiry(tenant: Tenant) -> None:
    now = tenant.clock.time()
    tenant.presence.set_status_message(ALICE, "first", expiry=StatusExpiry(now + 60, "x", "UTC"))
    user = tenant.presence.set_status_message(ALICE, "second")
    tenant.advance(365 * 86400)
    assert user.status_message is not None and user.status_message.content == "second"


def test_clearing_a_status_message(tenant: Tenant) -> None:
    user = tenant.presence.set_status_message(ALICE, "hello")
    number = user.sequence_number
    tenant.presence.set_status_message(ALICE, "")
    assert user.status_message is None
    assert user.sequence_number > number
    number = user.sequence_number
    tenant.presence.set_status_message(ALICE, None)  # clearing nothing is no change
    assert user.sequence_number == number


def test_status_message_does_not_change_availability(tenant: Tenant) -> None:
    tenant.presence.set_status_message(ALICE, "hello")
    assert shown(tenant) == ("Offline", "Offline")


def test_out_of_office_shows_in_the_activity(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "teams", "Available", "Available", expires_in=None, fades=False)
    user = tenant.presence.set_out_of_office(ALICE, True, "On leave")
    assert shown(tenant) == ("Available", "OutOfOffice")
    assert user.out_of_office == (True, "On leave")
    # A more specific activity stays (the Teams table shows "Busy / InACall" + OOF for a call).
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    assert shown(tenant) == ("Busy", "InACall")
    tenant.presence.clear_session(ALICE, "app")
    assert shown(tenant) == ("Available", "OutOfOffice")
    tenant.presence.set_out_of_office(ALICE, False)
    assert shown(tenant) == ("Available", "Available")


def test_out_of_office_without_a_session(tenant: Tenant) -> None:
    tenant.presence.set_out_of_office(ALICE, True)
    assert shown(tenant) == ("Offline", "OutOfOffice")


def test_setting_the_same_out_of_office_again_is_no_change(tenant: Tenant) -> None:
    user = tenant.presence.set_out_of_office(ALICE, True, "away")
    number = user.sequence_number
    tenant.presence.set_out_of_office(ALICE, True, "away")
    assert user.sequence_number == number
    tenant.presence.set_out_of_office(ALICE, True, "away until Monday")
    assert user.sequence_number > number
