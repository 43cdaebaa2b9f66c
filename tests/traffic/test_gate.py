from __future__ import annotations

import pytest

from emulator.tenant import Tenant
from emulator.traffic import gate as gate_module
from emulator.traffic.fault_rules import FAULT_RULES
from emulator.traffic.throttle import ThrottleSettings
from tests.test_clock import FakeMonotonic

USER = "/v1.0/users/fa8bf3dc-eca7-46b7-bad1-db199b62afc3/presence"


@pytest.fixture
def real(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(gate_module, "time", type("T", (), {"monotonic": staticmethod(fake)}))
    return fake


def add_rules(tenant: Tenant, *rules: dict[str, object]) -> None:
    tenant.gate.faults.add(FAULT_RULES.validate_python(list(rules)), tenant.clock.time())
    tenant.gate.refresh()


def test_nothing_configured_means_the_gate_is_inactive_and_answers_none(tenant: Tenant) -> None:
    assert not tenant.gate.active
    assert tenant.gate.screen("GET", USER, "app") is None


def test_a_retry_before_retry_after_on_either_clock_is_early(tenant: Tenant, real: FakeMonotonic) -> None:
    add_rules(tenant, {"path": USER, "status": 503, "retryAfter": 10, "times": 1})
    gate = tenant.gate
    first = gate.screen("GET", USER, "app")
    assert first is not None and first.status == 503 and first.early_retry is None
    real.now += 4
    tenant.advance(4)
    early = gate.screen("GET", USER, "app")
    assert early is not None and early.status is None  # goes ahead, flagged
    assert early.early_retry is not None
    assert (early.early_retry.retry_after, early.early_retry.waited, early.early_retry.waited_emulated) == (10, 4, 4)
    # A second early retry is measured from the same answer.
    real.now += 1
    again = gate.screen("GET", USER, "app")
    assert again is not None and again.early_retry is not None and again.early_retry.waited == 5
    # Ten real seconds after the 503: honoured, and forgotten.
    real.now += 5
    assert gate.screen("GET", USER, "app") is None
    assert gate.screen("GET", USER, "app") is None
    summary = tenant.journal.summary([])
    assert summary["earlyRetries"]["total"] == 2
    assert summary["earlyRetries"]["byApplication"] == {"app": 2}
    assert summary["honouredRetries"]["total"] == 1


def test_advancing_the_emulated_clock_counts_as_waiting(tenant: Tenant, real: FakeMonotonic) -> None:
    add_rules(tenant, {"path": USER, "status": 429, "retryAfter": 30, "times": 1})
    assert tenant.gate.screen("GET", USER, "app") is not None
    tenant.advance(30)
    assert tenant.gate.screen("GET", USER, "app") is None
    assert tenant.journal.summary([])["earlyRetries"]["total"] == 0


def test_early_means_the_same_request_from_the_same_application(tenant: Tenant, real: FakeMonotonic) -> None:
    add_rules(tenant, {"path": USER, "status": 503, "times": 1, "retryAfter": 5})
    assert tenant.gate.screen("GET", USER, "app") is not None
    assert tenant.gate.screen("GET", USER, "other-app") is None
    assert tenant.gate.screen("GET", "/v1.0/me/presence", "app") is None
    assert tenant.gate.screen("POST", USER, "app") is None
    assert tenant.journal.summary([])["earlyRetries"]["total"] == 0


def test_an_error_without_retry_after_asks_no_wait(tenant: Tenant, real: FakeMonotonic) -> None:
    add_rules(tenant, {"path": USER, "status": 500, "times": 1})
    assert tenant.gate.screen("GET", USER, "app") is not None
    assert tenant.gate.screen("GET", USER, "app") is None


def test_throttled_requests_carry_retry_after_and_count_early_retries(tenant: Tenant, real: FakeMonotonic) -> None:
    gate = tenant.gate
    gate.configure_throttle(ThrottleSettings(limit=2, window_seconds=30))
    assert gate.active
    assert gate.screen("GET", USER, "app") is None
    tenant.advance(10)
    assert gate.screen("GET", USER, "app") is None
    throttled = gate.screen("GET", USER, "app")
    assert throttled is not None and throttled.throttled and throttled.status == 429
    assert throttled.retry_after == 20  # the first request leaves the window 20 s from now
    real.now += 1
    early = gate.screen("GET", USER, "app")
    assert early is not None and early.throttled and early.early_retry is not None
    tenant.advance(20)
    assert gate.screen("GET", USER, "app") is None  # waited: admitted and not early


def test_a_fault_that_answers_takes_no_throttle_slot_but_a_slow_one_does(tenant: Tenant) -> None:
    gate = tenant.gate
    gate.configure_throttle(ThrottleSettings(limit=1, window_seconds=30))
    add_rules(tenant, {"id": "down", "path": USER, "status": 503, "retryAfter": 0, "times": 1},
              {"id": "slow", "path": "/v1.0/me/presence", "latency": 0.5})
    down = gate.screen("GET", USER, "app")
    assert down is not None and down.rule_id == "down" and not down.throttled
    assert gate.screen("GET", USER, "app") is None  # the 503 did not use the one slot
    slow = gate.screen("GET", "/v1.0/me/presence", "app-2")
    assert slow is not None and slow.latency == 0.5 and slow.status is None
    slow_throttled = gate.screen("GET", "/v1.0/me/presence", "app-2")
    assert slow_throttled is not None and slow_throttled.latency == 0.5 and slow_throttled.throttled


def test_a_batch_envelope_is_not_throttled(tenant: Tenant) -> None:
    tenant.gate.configure_throttle(ThrottleSettings(limit=1, window_seconds=30))
    assert tenant.gate.screen("POST", "/v1.0/$batch", "app", throttled=False) is None
    assert tenant.gate.screen("POST", "/v1.0/$batch", "app", throttled=False) is None
    assert tenant.gate.screen("GET", USER, "app") is None
    assert tenant.gate.screen("GET", USER, "app") is not None


def test_turning_everything_off_makes_the_gate_inactive_again(tenant: Tenant, real: FakeMonotonic) -> None:
    gate = tenant.gate
    add_rules(tenant, {"path": USER, "status": 503, "times": 1, "retryAfter": 1})
    assert gate.screen("GET", USER, "app") is not None
    gate.faults.clear()
    gate.refresh()
    assert gate.active  # still remembers the Retry-After it gave
    real.now += 2
    assert gate.screen("GET", USER, "app") is None
    assert not gate.active
