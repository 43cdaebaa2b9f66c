from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from emulator.traffic.fault_rules import FAULT_RULE, FAULT_RULES, DeliveryFault, RequestFault
from emulator.traffic.faults import DuplicateRuleId, FaultBook
from emulator.traffic.paths import path_regex

T0 = 1_790_000_000.0
USER = "/v1.0/users/fa8bf3dc-eca7-46b7-bad1-db199b62afc3/presence"


def book(*rules: dict[str, object], now: float = T0) -> FaultBook:
    faults = FaultBook()
    faults.add(FAULT_RULES.validate_python(list(rules)), now)
    return faults


def fired(faults: FaultBook, method: str, path: str, now: float = T0, app: str = "app") -> str | None:
    rule = faults.for_request(method, path, app, now)
    return rule.id if rule else None


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("/v1.0/users/*/presence", USER, True),
    ("/v1.0/users/*/presence", USER + "/setPresence", False),
    ("/v1.0/users/*", USER, False),  # one * stays within a segment
    ("/v1.0/users/**", USER, True),
    ("/**/setPresence", USER + "/setPresence", True),
    ("/*/users/*/presence", USER.replace("v1.0", "beta"), True),
    ("/V1.0/USERS/*/PRESENCE", USER, True),  # Graph paths are case-insensitive
    ("/v1.0/users/[!x]*/presence", USER, True),
    ("re:/v1\\.0/users/[0-9a-f-]{36}/presence", USER, True),
    ("re:/beta/.*", USER, False),
])
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    faults = book({"path": pattern, "status": 500})
    assert (fired(faults, "GET", path) is not None) is matches


def test_method_matches_one_or_several_and_absent_matches_any() -> None:
    faults = book({"id": "get", "method": "get", "path": USER, "status": 500},
                  {"id": "writes", "method": ["POST", "PATCH"], "status": 503})
    assert fired(faults, "GET", USER) == "get"
    assert fired(faults, "POST", USER + "/setPresence") == "writes"
    assert fired(faults, "DELETE", USER) is None
    assert fired(faults, "PATCH", "/v1.0/subscriptions/x") == "writes"


def test_nth_fires_on_that_request_only_unless_times_says_more() -> None:
    only_third = book({"path": USER, "status": 500, "nth": 3})
    assert [fired(only_third, "GET", USER) for _ in range(5)] == [None, None, "fault-1", None, None]
    from_second = book({"path": USER, "status": 500, "nth": 2, "times": 2})
    assert [fired(from_second, "GET", USER) for _ in range(5)] == [None, "fault-1", "fault-1", None, None]
    first_two = book({"path": USER, "status": 500, "times": 2})
    assert [fired(first_two, "GET", USER) for _ in range(3)] == ["fault-1", "fault-1", None]


def test_only_matching_requests_count_towards_nth() -> None:
    faults = book({"method": "GET", "path": USER, "status": 500, "nth": 2})
    assert fired(faults, "GET", "/v1.0/me/presence") is None
    assert fired(faults, "POST", USER) is None
    assert fired(faults, "GET", USER) is None
    assert fired(faults, "GET", USER) == "fault-1"
    installed = faults.get("fault-1")
    assert installed is not None and (installed.matched, installed.fired) == (2, 1)


def test_a_seeded_probability_repeats_exactly_and_another_seed_differs() -> None:
    def run(seed: int) -> list[bool]:
        faults = book({"path": USER, "status": 503, "probability": 0.3, "seed": seed})
        return [fired(faults, "GET", USER) is not None for _ in range(200)]
    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert 30 < sum(first) < 90  # about 30% of 200


@pytest.mark.parametrize(("probability", "expected"), [(0.0, 0), (1.0, 50)])
def test_probability_bounds(probability: float, expected: int) -> None:
    faults = book({"path": USER, "status": 503, "probability": probability, "seed": 1})
    assert sum(fired(faults, "GET", USER) is not None for _ in range(50)) == expected


def test_a_window_of_durations_counts_from_installation_on_the_emulated_clock() -> None:
    faults = book({"path": USER, "status": 503, "window": {"start": "PT1M", "end": "PT2M"}}, now=T0)
    assert fired(faults, "GET", USER, now=T0 + 59.9) is None
    assert fired(faults, "GET", USER, now=T0 + 60) == "fault-1"
    assert fired(faults, "GET", USER, now=T0 + 119.9) == "fault-1"
    assert fired(faults, "GET", USER, now=T0 + 120) is None  # the end is exclusive
    installed = faults.get("fault-1")
    assert installed is not None and installed.matched == 2  # requests outside the window do not count


def test_a_window_of_date_times_is_absolute() -> None:
    faults = book({"path": USER, "status": 503, "window": {"start": "2026-09-21T14:15:00Z"}})
    assert fired(faults, "GET", USER, now=T0) is None  # T0 is 14:13:20
    assert fired(faults, "GET", USER, now=T0 + 100) == "fault-1"


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        book({"status": 503, "window": {"start": "PT2M", "end": "PT1M"}})


def test_the_first_rule_that_fires_decides_and_later_ones_do_not_count_it() -> None:
    faults = book({"id": "first", "path": USER, "status": 500, "times": 1},
                  {"id": "second", "path": USER, "status": 503, "nth": 2})
    assert fired(faults, "GET", USER) == "first"
    assert fired(faults, "GET", USER) is None  # "second" sees its first matching request
    assert fired(faults, "GET", USER) == "second"


def test_application_id_narrows_a_rule() -> None:
    faults = book({"path": USER, "status": 403, "applicationId": "App-1"})
    assert fired(faults, "GET", USER, app="app-2") is None
    assert fired(faults, "GET", USER, app="app-1") == "fault-1"


def test_ids_are_given_and_a_taken_id_refuses_the_whole_batch() -> None:
    faults = book({"status": 500}, {"id": "mine", "status": 500})
    assert [r.id for r in faults.rules()] == ["fault-1", "mine"]
    with pytest.raises(DuplicateRuleId):
        faults.add(FAULT_RULES.validate_python([{"status": 501}, {"id": "mine", "status": 500}]), T0)
    assert len(faults) == 2
    assert faults.remove("mine") and not faults.remove("mine")
    faults.clear()
    assert len(faults) == 0 and not faults.has_request_rules


def test_many_rules_still_find_the_one_that_matches_and_cache_both_answers() -> None:
    rules = [{"method": "POST", "path": f"/v1.0/users/{i:08d}-0000-4000-8000-000000000000/presence/setPresence",
              "status": 500} for i in range(100)]
    faults = book(*rules, {"id": "last", "method": "GET", "path": "/beta/**", "status": 503})
    assert fired(faults, "GET", USER) is None
    assert fired(faults, "GET", USER) is None
    assert fired(faults, "POST", "/v1.0/users/00000042-0000-4000-8000-000000000000/presence/setPresence") \
        == "fault-43"
    assert fired(faults, "GET", "/beta/me/presence") == "last"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "needs an effect"),
    ({"status": 503, "drop": True}, "cannot also answer"),
    ({"retryAfter": 3, "latency": 1}, "give 'status' too"),
    ({"status": 302}, "greater than or equal to 400"),
    ({"status": 500, "method": "FETCH"}, "not an HTTP method"),
    ({"status": 500, "path": "re:("}, "not a regular expression"),
    ({"status": 500, "path": "/users/[abc"}, "without its ']'"),
    ({"latency": 500}, "less than or equal to 120"),
    ({"status": 500, "probability": 1.5}, "less than or equal to 1"),
    ({"status": 500, "nth": 0}, "greater than or equal to 1"),
    ({"status": 500, "window": {"start": "2026-09-21T14:15:00"}}, "needs a time zone"),
    ({"status": 500, "colour": "red"}, "Extra inputs"),
    ({"target": "socket", "status": 500}, "'target' must be"),
    ({"target": "delivery"}, "needs an effect"),
    ({"target": "delivery", "status": 500, "duplicate": 1}, "Extra inputs"),
    ({"target": "delivery", "delay": "PT0S"}, "longer than zero"),
    ({"target": "delivery", "outOfOrder": True, "holdFor": "PT0S"}, "longer than zero"),
    ({"target": "delivery", "duplicate": 1, "holdFor": "PT1M"}, "'holdFor' bounds an 'outOfOrder' hold"),
])
def test_invalid_rules_say_what_is_wrong(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FAULT_RULE.validate_python(body)


def test_the_model_takes_camel_case_and_snake_case_and_defaults_retry_after_for_429_and_503() -> None:
    camel = FAULT_RULE.validate_python({"status": 429, "applicationId": "a"})
    snake = FAULT_RULE.validate_python({"status": 503, "application_id": "a", "retry_after": 4})
    assert isinstance(camel, RequestFault) and isinstance(snake, RequestFault)
    assert camel.application_id == snake.application_id == "a"
    assert camel.effective_retry_after() == 1
    assert snake.effective_retry_after() == 4
    assert FAULT_RULE.validate_python({"status": 500}).effective_retry_after() is None  # type: ignore[union-attr]


def test_delivery_rules_match_subscription_resource_url_and_change_type() -> None:
    faults = book({"target": "delivery", "id": "dup", "resource": "communications/presences/*",
                   "changeType": "updated", "duplicate": 2},
                  {"target": "delivery", "id": "late", "notificationUrl": "https://hooks.example/**",
                   "delay": "PT30S", "outOfOrder": True})
    rule = FAULT_RULE.validate_python({"target": "delivery", "delay": "PT1M"})
    assert isinstance(rule, DeliveryFault) and rule.delay == timedelta(minutes=1)
    verdict = faults.for_delivery(subscription_id="s1", resource="/communications/presences/abc",
                                  notification_url="http://127.0.0.1:9/hook", change_type="updated", now=T0)
    assert verdict is not None and (verdict.rule_id, verdict.duplicate, verdict.delay) == ("dup", 2, 0.0)
    verdict = faults.for_delivery(subscription_id="s1", resource="communications/presences/abc",
                                  notification_url="https://hooks.example/a/b", change_type="missed", now=T0)
    assert verdict is not None and (verdict.rule_id, verdict.delay, verdict.out_of_order) == ("late", 30.0, True)
    assert faults.for_delivery(subscription_id="s1", resource="users/abc", notification_url="http://x/",
                               change_type="updated", now=T0) is None
    # Delivery rules never touch API requests.
    assert not faults.has_request_rules
    assert fired(faults, "GET", USER) is None


def test_a_delivery_rule_for_one_subscription() -> None:
    faults = book({"target": "delivery", "subscriptionId": "S-1", "duplicate": 1, "nth": 2})
    def verdict(sub: str) -> object:
        return faults.for_delivery(subscription_id=sub, resource="r", notification_url="u", change_type="updated",
                                   now=T0)
    assert verdict("s-2") is None
    assert verdict("s-1") is None
    assert verdict("s-1") is not None
    assert verdict("s-1") is None


def test_path_regex_escapes_what_is_not_a_wildcard() -> None:
    assert path_regex("/v1.0/$batch") == "/v1\\.0/\\$batch"
