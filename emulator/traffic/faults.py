"""Installed fault rules and the matching of requests and deliveries against them.

Request matching is on the hot path of every API call once a rule is loaded, so the method and path of all
request rules are compiled into one regular expression: a request that none of them names costs one
``fullmatch`` (and a dict look-up when the same method and path come again), however many rules there are.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from emulator.clock import format_graph_datetime
from emulator.traffic.delivery_faults import DEFAULT_HOLD_FOR
from emulator.traffic.paths import path_regex

if TYPE_CHECKING:  # the rules are pydantic models: loaded with the first rule, not at every start
    from emulator.traffic.fault_rules import DeliveryFault, RequestFault

_CACHE_LIMIT = 4096


class DuplicateRuleId(ValueError):
    pass


class InstalledRule:
    """A rule as installed: its resolved window, its counters and its own random generator."""

    __slots__ = ("end", "fired", "limit", "matched", "rng", "rule", "start")

    def __init__(self, rule: RequestFault | DeliveryFault, installed_at: float) -> None:
        self.rule = rule
        window = rule.window
        self.start, self.end = window.bounds(installed_at) if window else (float("-inf"), float("inf"))
        self.limit = rule.fire_limit
        self.matched = 0
        self.fired = 0
        self.rng = random.Random(rule.seed)

    @property
    def id(self) -> str:
        assert self.rule.id is not None
        return self.rule.id

    def fires(self, now: float) -> bool:
        """Count a request the criteria matched; True when the rule's window, nth, times and draw all say so."""
        if not self.start <= now < self.end:
            return False
        self.matched += 1
        rule = self.rule
        if rule.nth is not None and self.matched < rule.nth:
            return False
        if self.limit is not None and self.fired >= self.limit:
            return False
        if rule.probability is not None and self.rng.random() >= rule.probability:
            return False
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = self.rule.model_dump(mode="json", by_alias=True, exclude_none=True)
        if body.get("drop") is False:
            del body["drop"]
        body["matched"] = self.matched
        body["fired"] = self.fired
        if self.rule.window is not None:
            body["windowStart"] = format_graph_datetime(self.start) if self.start > float("-inf") else None
            body["windowEnd"] = format_graph_datetime(self.end) if self.end < float("inf") else None
        return body


@dataclass(frozen=True, slots=True)
class DeliveryVerdict:
    """What to do to one notification: the deliverer applies it (see ``FaultBook.for_delivery``)."""

    rule_id: str
    duplicate: int  # extra copies to send after the first
    delay: float  # emulated seconds to hold it back (on the scheduler)
    out_of_order: bool  # hold it until the URL's next POST has gone out, or ``hold_for`` has passed
    hold_for: float = DEFAULT_HOLD_FOR  # emulated seconds an out-of-order POST waits at most


class FaultBook:
    """The tenant's fault rules, in the order they were added: the first rule that fires decides."""

    def __init__(self) -> None:
        self._request_rules: list[InstalledRule] = []
        self._delivery_rules: list[InstalledRule] = []
        self._by_id: dict[str, InstalledRule] = {}
        self._next = 1
        self._matcher: re.Pattern[str] | None = None
        self._cache: dict[str, tuple[InstalledRule, ...]] = {}
        self._per_rule: list[tuple[re.Pattern[str], InstalledRule]] = []
        self.has_request_rules = False
        self.has_delivery_rules = False

    def __len__(self) -> int:
        return len(self._by_id)

    def rules(self) -> list[InstalledRule]:
        """Every installed rule, in the order it was added."""
        return list(self._by_id.values())

    def get(self, rule_id: str) -> InstalledRule | None:
        return self._by_id.get(rule_id)

    def add(self, rules: Iterable[RequestFault | DeliveryFault], now: float) -> list[InstalledRule]:
        """Install rules (all or none): ids are given to those without; a taken id is ``DuplicateRuleId``.

        A window that ends before it starts is a ``ValueError``.
        """
        batch: list[InstalledRule] = []
        taken = set(self._by_id)
        next_number = self._next
        for rule in rules:
            if rule.id is None:
                while f"fault-{next_number}" in taken:
                    next_number += 1
                rule = rule.model_copy(update={"id": f"fault-{next_number}"})
                next_number += 1
            assert rule.id is not None
            if rule.id in taken:
                raise DuplicateRuleId(f"a fault rule with id '{rule.id}' exists already")
            taken.add(rule.id)
            batch.append(InstalledRule(rule, now))
        self._next = next_number
        for installed in batch:
            self._by_id[installed.id] = installed
            target = self._request_rules if installed.rule.target == "request" else self._delivery_rules
            target.append(installed)
        self._recompile()
        return batch

    def remove(self, rule_id: str) -> bool:
        installed = self._by_id.pop(rule_id, None)
        if installed is None:
            return False
        target = self._request_rules if installed.rule.target == "request" else self._delivery_rules
        target.remove(installed)
        self._recompile()
        return True

    def clear(self) -> None:
        self._by_id.clear()
        self._request_rules.clear()
        self._delivery_rules.clear()
        self._recompile()

    def _recompile(self) -> None:
        self._cache.clear()
        self._per_rule = []
        parts: list[str] = []
        for installed in self._request_rules:
            rule = cast("RequestFault", installed.rule)
            methods = rule.methods()
            method = "[A-Z]+" if methods is None else "(?:" + "|".join(sorted(methods)) + ")"
            path = ".*" if rule.path is None else path_regex(rule.path)
            source = f"{method} (?:{path})"
            parts.append(source)
            self._per_rule.append((re.compile(source, re.IGNORECASE | re.DOTALL), installed))
        self._matcher = re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE | re.DOTALL) if parts else None
        self.has_request_rules = bool(parts)
        self.has_delivery_rules = bool(self._delivery_rules)

    def candidates(self, method: str, path: str) -> tuple[InstalledRule, ...]:
        """The request rules whose method and path match, in order (before window, nth and probability)."""
        key = f"{method} {path}"
        found = self._cache.get(key)
        if found is not None:
            return found
        if self._matcher is None or self._matcher.fullmatch(key) is None:
            found = ()
        else:
            found = tuple(installed for pattern, installed in self._per_rule if pattern.fullmatch(key))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def for_request(self, method: str, path: str, app_id: str, now: float) -> RequestFault | None:
        """The rule that fires for this request, if any; counts the request against every rule it reaches."""
        for installed in self.candidates(method, path):
            rule = cast("RequestFault", installed.rule)
            if rule.application_id is not None and rule.application_id.lower() != app_id.lower():
                continue
            if installed.fires(now):
                return rule
        return None

    def for_delivery(self, *, subscription_id: str, resource: str, notification_url: str, change_type: str,
                     now: float) -> DeliveryVerdict | None:
        """The delivery fault that fires for one notification about to be sent, if any.

        The deliverer calls this once per notification (not per retry of it) and applies the verdict:
        ``duplicate`` extra copies, ``delay`` emulated seconds on the scheduler, ``out_of_order``: hold it
        until the same subscription's next notification has been sent.
        """
        for installed in self._delivery_rules:
            rule = cast("DeliveryFault", installed.rule)
            if rule.subscription_id is not None and rule.subscription_id.lower() != subscription_id.lower():
                continue
            if rule.change_type is not None and rule.change_type.lower() != change_type.lower():
                continue
            if rule.resource is not None and not _glob_match(rule.resource, resource.lstrip("/")):
                continue
            if rule.notification_url is not None and not _glob_match(rule.notification_url, notification_url):
                continue
            if installed.fires(now):
                return DeliveryVerdict(
                    rule_id=installed.id,
                    duplicate=rule.duplicate,
                    delay=rule.delay.total_seconds() if rule.delay is not None else 0.0,
                    out_of_order=rule.out_of_order,
                    hold_for=rule.hold_for.total_seconds() if rule.hold_for is not None else DEFAULT_HOLD_FOR,
                )
        return None


def _glob_match(pattern: str, text: str) -> bool:
    source = path_regex(pattern.lstrip("/") if not pattern.startswith("re:") else pattern)
    return re.fullmatch(source, text, re.IGNORECASE | re.DOTALL) is not None
