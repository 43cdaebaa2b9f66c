from __future__ import annotations

import pytest

from emulator.control.bodies import ThrottleSettingsBody
from emulator.traffic.throttle import Throttle, ThrottleSettings, parse_throttle_flag

T0 = 1_790_000_000.0


def test_a_window_admits_its_limit_then_answers_with_the_wait_until_the_oldest_slot_frees() -> None:
    throttle = Throttle(ThrottleSettings(limit=3, window_seconds=10))
    assert [throttle.admit("app", T0 + i) for i in range(3)] == [0, 0, 0]
    # The oldest admitted request (T0) leaves the window at T0 + 10: 7 seconds from T0 + 3.
    assert throttle.admit("app", T0 + 3) == 7
    assert throttle.admit("app", T0 + 9.5) == 1  # half a second left rounds up to a whole second
    assert throttle.admit("app", T0 + 10) == 0  # the slot of T0 is free
    assert throttle.admit("app", T0 + 10.5) == 1  # T0 + 1 frees at T0 + 11
    assert throttle.rejected == 3


def test_rejected_requests_take_no_slot_so_retry_after_is_exact() -> None:
    throttle = Throttle(ThrottleSettings(limit=1, window_seconds=30))
    assert throttle.admit("app", T0) == 0
    for offset in range(1, 29):
        assert throttle.admit("app", T0 + offset) == 30 - offset
    assert throttle.admit("app", T0 + 30) == 0


def test_each_application_has_its_own_window() -> None:
    throttle = Throttle(ThrottleSettings(limit=1, window_seconds=30))
    assert throttle.admit("a", T0) == 0
    assert throttle.admit("b", T0) == 0
    assert throttle.admit("a", T0 + 1) == 29
    assert throttle.usage(T0 + 1) == {"a": 1, "b": 1}
    assert throttle.usage(T0 + 31) == {"a": 0, "b": 0}


@pytest.mark.parametrize(("text", "limit", "window"), [
    ("1500", 1500, 30.0), ("10000", 10000, 30.0), ("100/10", 100, 10.0), (" 5 / 2.5s ", 5, 2.5),
])
def test_the_cli_flag_takes_both_presets_and_a_custom_limit(text: str, limit: int, window: float) -> None:
    settings = parse_throttle_flag(text)
    assert settings.enabled
    assert (settings.max_requests, settings.window) == (limit, window)


@pytest.mark.parametrize("text", ["fast", "0/10", "10/0", "-1", "10/", "1500/30/2"])
def test_the_cli_flag_rejects_what_is_not_a_limit(text: str) -> None:
    with pytest.raises(ValueError, match="is not a throttle"):
        parse_throttle_flag(text)


@pytest.mark.parametrize(("text", "message"), [("10000001/30", "'limit' must be between 1 and 10000000"),
                                               ("10/86401", "'windowSeconds' must be more than 0 and at most 86400")])
def test_the_cli_flag_keeps_the_bodys_ranges(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_throttle_flag(text)


def test_off_is_a_flag_value_too() -> None:
    assert not parse_throttle_flag("off").enabled


@pytest.mark.parametrize("body", [{}, {"preset": "1500", "limit": 5}, {"preset": "2000"}, {"limit": 0},
                                  {"limit": 5, "windowSeconds": -1}, {"limit": 5, "code": "Throttled"}])
def test_settings_reject_contradictions_and_out_of_range_values(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # pydantic's ValidationError (a field) or ThrottleSettings' own (a pairing)
        ThrottleSettingsBody.model_validate(body).settings()


def test_a_custom_limit_defaults_to_a_30_second_window() -> None:
    settings = ThrottleSettingsBody.model_validate({"limit": 50}).settings()
    assert settings.window == 30.0
    assert settings.describe() == {"enabled": True, "preset": None, "limit": 50, "windowSeconds": 30.0,
                                   "code": "activityLimitReached"}
