"""The idle fade of Available sessions and the expiry of every session, on the manual clock."""

from __future__ import annotations

from emulator.tenant import Tenant
from tests.presence.test_aggregation import ALICE, shown

MINUTE = 60.0


def test_available_session_fades_then_expires(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    tenant.advance(5 * MINUTE - 1)
    assert shown(tenant) == ("Available", "Available")
    tenant.advance(1)
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.advance(5 * MINUTE - 1)
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.advance(1)
    assert shown(tenant) == ("Away", "Away")
    tenant.advance(3600)
    assert shown(tenant) == ("Offline", "Offline")
    assert tenant.presence.users[ALICE].sessions == {}


def test_one_big_advance_runs_every_stage_in_order(tenant: Tenant) -> None:
    seen: list[tuple[float, str]] = []
    tenant.presence.listeners.append(lambda c: seen.append((c.at, c.user.activity)))
    start = tenant.clock.time()
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    tenant.advance(2 * 3600)
    # Each stage ran with the clock standing at its own due time, not at the end of the advance.
    assert seen == [(start, "Available"), (start + 300, "AvailableInactive"), (start + 600, "Away"),
                    (start + 3600, "Offline")]


def test_setting_again_restarts_the_fade_and_the_expiry(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=10 * MINUTE)
    tenant.advance(7 * MINUTE)
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=10 * MINUTE)
    assert shown(tenant) == ("Available", "Available")
    tenant.advance(5 * MINUTE - 1)
    assert shown(tenant) == ("Available", "Available")
    tenant.advance(1)
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.advance(5 * MINUTE - 1)  # 10 min after the re-set, not the first set: still here, about to go
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.advance(1)
    assert shown(tenant) == ("Offline", "Offline")


def test_a_replaced_session_keeps_no_timer_of_its_old_self(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=5 * MINUTE)
    tenant.advance(4 * MINUTE)
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=60 * MINUTE)
    tenant.advance(2 * MINUTE)  # the old expiry (and old fade) would have fallen here
    assert shown(tenant) == ("Busy", "InACall")
    tenant.advance(58 * MINUTE)
    assert shown(tenant) == ("Offline", "Offline")


def test_other_availabilities_do_not_fade(tenant: Tenant) -> None:
    for session, pair in {"a": ("Busy", "InACall"), "b": ("Away", "Away"), "c": ("DoNotDisturb", "Presenting")}.items():
        other = f"00000000-0000-4000-8000-00000000000{ord(session) - ord('a')}"
        tenant.presence.set_session(other, session, *pair, expires_in=4 * 3600)
        tenant.advance(4 * 3600 - 1)
        assert shown(tenant, other) == pair
        tenant.advance(1)
        assert shown(tenant, other) == ("Offline", "Offline")


def test_a_faded_session_ranks_by_what_it_shows(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "idle", "Available", "Available", expires_in=4 * 3600)
    tenant.advance(10 * MINUTE)
    assert shown(tenant) == ("Away", "Away")
    tenant.presence.set_session(ALICE, "brb", "BeRightBack", "BeRightBack", expires_in=4 * 3600, fades=False)
    assert shown(tenant) == ("BeRightBack", "BeRightBack")  # Away rank: the latest set supplies the activity
    tenant.presence.set_session(ALICE, "busy", "Busy", "InACall", expires_in=5 * MINUTE)
    assert shown(tenant) == ("Busy", "InACall")
    tenant.advance(5 * MINUTE)
    assert shown(tenant) == ("BeRightBack", "BeRightBack")


def test_expiry_of_one_session_shows_the_rest(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "long", "Away", "Away", expires_in=60 * MINUTE)
    tenant.presence.set_session(ALICE, "short", "DoNotDisturb", "Presenting", expires_in=5 * MINUTE)
    assert shown(tenant) == ("DoNotDisturb", "Presenting")
    tenant.advance(5 * MINUTE)
    assert shown(tenant) == ("Away", "Away")
    assert list(tenant.presence.users[ALICE].sessions) == ["long"]


def test_a_session_without_expiry_stays(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "teams", "Busy", "InAMeeting", expires_in=None)
    tenant.advance(365 * 86400)
    assert shown(tenant) == ("Busy", "InAMeeting")


def test_a_cleared_session_fires_nothing_later(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    tenant.presence.clear_session(ALICE, "app")
    number = tenant.presence.users[ALICE].sequence_number
    assert tenant.advance(2 * 3600) == 0
    assert tenant.presence.users[ALICE].sequence_number == number


def test_default_length_available_session_expires_without_showing_inactive(tenant: Tenant) -> None:
    # Expiry and the first fade stage fall at the same instant: the session is gone, with no blip in between.
    seen: list[tuple[str, str]] = []
    tenant.presence.listeners.append(lambda c: seen.append((c.user.availability, c.user.activity)))
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=5 * MINUTE)
    tenant.advance(10 * MINUTE)
    assert seen == [("Available", "Available"), ("Offline", "Offline")]


def test_re_setting_a_session_moves_its_one_timer_and_the_old_time_does_nothing(tenant: Tenant) -> None:
    """A client that keeps its presence re-sets the session before it expires, all day: that must not pile
    up scheduler entries, and the session must change at the new times only."""
    scheduler = tenant.scheduler
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=10 * MINUTE)
    for _ in range(100):  # every 5 minutes, for 500 minutes: later each time
        tenant.advance(5 * MINUTE)
        tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=10 * MINUTE)
        assert len(scheduler) == 1 and len(scheduler._heap) == 1
    tenant.advance(10 * MINUTE - 1)
    assert shown(tenant) == ("Busy", "InACall")
    tenant.advance(1)
    assert shown(tenant) == ("Offline", "Offline")
    # Re-set to change sooner than before (an Available session fades after 5 minutes): a timer of its own.
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=60 * MINUTE)
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=60 * MINUTE)
    tenant.advance(5 * MINUTE)
    assert shown(tenant) == ("Available", "AvailableInactive")
    assert [h.when for h in scheduler.pending()] == [tenant.clock.time() + 5 * MINUTE]
