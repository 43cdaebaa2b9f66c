from __future__ import annotations

from emulator.tenant import Tenant

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


def shown(tenant: Tenant, user: str = ALICE) -> tuple[str, str]:
    found = tenant.presence.find(user)
    assert found is not None
    return found.availability, found.activity


def test_highest_ranked_session_wins(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "desktop", "Available", "Available", expires_in=None, fades=False)
    tenant.presence.set_session(ALICE, "app", "Busy", "InACall", expires_in=3600)
    assert shown(tenant) == ("Busy", "InACall")
    tenant.presence.clear_session(ALICE, "app")
    assert shown(tenant) == ("Available", "Available")


def test_available_session_fades_then_expires(tenant: Tenant) -> None:
    tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    tenant.advance(5 * 60 - 1)
    assert shown(tenant) == ("Available", "Available")
    tenant.advance(1)
    assert shown(tenant) == ("Available", "AvailableInactive")
    tenant.advance(5 * 60)
    assert shown(tenant) == ("Away", "Away")
    tenant.advance(3600)
    assert shown(tenant) == ("Offline", "Offline")
    assert tenant.presence.users[ALICE].sessions == {}
