"""sequenceNumber: a new, strictly greater plain string on every visible change, and only then."""

from __future__ import annotations

from emulator.presence.directory import StatusExpiry
from emulator.runtime import Runtime
from emulator.tenant import Tenant, TenantSettings
from tests.conftest import START
from tests.presence.test_aggregation import ALICE


def test_every_visible_change_sorts_after_the_last(tenant: Tenant) -> None:
    directory = tenant.presence
    user = directory.add_user(ALICE)
    numbers = [user.sequence_number]

    def changed() -> None:
        assert isinstance(user.sequence_number, str)
        assert user.sequence_number > numbers[-1]
        numbers.append(user.sequence_number)

    directory.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    changed()
    tenant.advance(300)  # fade to AvailableInactive
    changed()
    tenant.advance(300)  # fade to Away
    changed()
    directory.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    changed()
    directory.set_session(ALICE, "teams", "Available", "Available", expires_in=None, fades=False)
    directory.set_preferred(ALICE, "DoNotDisturb", "DoNotDisturb", expires_in=None)
    changed()
    directory.set_status_message(ALICE, "hi", expiry=StatusExpiry(tenant.clock.time() + 60, "x", "UTC"))
    changed()
    tenant.advance(60)  # status message expires
    changed()
    directory.set_out_of_office(ALICE, True)
    changed()
    directory.clear_preferred(ALICE)
    changed()
    assert len(set(numbers)) == len(numbers)


def test_a_keep_alive_that_changes_nothing_keeps_the_number(tenant: Tenant) -> None:
    directory = tenant.presence
    user = directory.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    number = user.sequence_number
    tenant.advance(1800)
    directory.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    assert user.sequence_number == number
    # A preference over a user with no session, and a second session that loses, change nothing visible either.
    other = "66825e03-7ef5-42da-9069-724602c31f6b"
    quiet = directory.set_preferred(other, "Busy", "Busy", expires_in=None)
    assert (quiet.availability, quiet.activity) == ("Offline", "Offline")
    directory.set_session(ALICE, "teams", "Away", "Away", expires_in=3600, fades=False)
    assert user.sequence_number == number


def test_numbers_sort_as_strings_across_many_changes(tenant: Tenant) -> None:
    seen = []
    for n in range(1200):
        pair = ("Busy", "InACall") if n % 2 else ("Away", "Away")
        seen.append(tenant.presence.set_session(ALICE, "app", *pair, expires_in=3600).sequence_number)
    assert seen == sorted(seen)
    assert all(len(s) == len(seen[0]) for s in seen)


def test_numbers_keep_increasing_across_a_reset() -> None:
    runtime = Runtime(TenantSettings(clock_mode="manual", start=START))
    before = runtime.tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600).sequence_number
    runtime.reset()
    after = runtime.tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600).sequence_number
    assert after > before


def test_separate_tenants_number_the_same_history_alike() -> None:
    histories = []
    for _ in range(2):
        fresh = Tenant(TenantSettings(clock_mode="manual", start=START))
        histories.append([
            fresh.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600).sequence_number,
            fresh.presence.set_session(ALICE, "app", "Away", "Away", expires_in=3600).sequence_number,
        ])
    assert histories[0] == histories[1]
