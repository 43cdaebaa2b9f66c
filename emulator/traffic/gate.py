"""The gate every Graph request passes before its handler: early-retry detection, fault rules, throttling.

``Gate.screen`` decides for one *logical* request (a plain request, or one request inside a ``$batch``) and
returns ``None`` (go ahead: the common case, and the only one when nothing is configured) or a ``Screening``
that says what to do. It never sleeps and never touches HTTP: the wire layer applies the screening
(``emulator/graph/screening.py``).

Order: a fault rule that fires decides first; a request it answers (an error or a dropped connection) does
not count against the throttle; a latency-only fault delays a request that is then throttled as usual. A
throttled request does not take a slot either, so the ``Retry-After`` it gets is exact.

Early retries: when the gate answers with ``Retry-After: N`` (a throttled request, or a 429/503 fault), it
remembers the application, method and path. The same request from the same application is *early* when
neither the real clock nor the emulated one has moved N seconds since: both count, so that a client that
sleeps for real and a test that advances a manual clock instead are both judged fairly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from emulator.clock import Clock
from emulator.traffic.faults import FaultBook, InstalledRule
from emulator.traffic.throttle import Throttle, ThrottleSettings

if TYPE_CHECKING:
    from emulator.traffic.fault_rules import DeliveryFault, RequestFault

_PENDING_LIMIT = 4096


class RetryLedger(Protocol):
    """Where early and honoured retries are counted (the journal's summary)."""

    def note_early_retry(self, app_id: str) -> None: ...

    def note_honoured_retry(self, app_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class EarlyRetry:
    retry_after: int  # seconds the earlier answer asked for
    waited: float  # real seconds since that answer
    waited_emulated: float  # emulated seconds since that answer

    def describe(self) -> dict[str, float]:
        return {"retryAfter": self.retry_after, "waitedSeconds": round(self.waited, 3),
                "waitedEmulatedSeconds": round(self.waited_emulated, 3)}


class Screening:
    """What the gate decided for one request. ``status`` set: answer with that error (``code``/``message``
    None: the usual ones for the status). ``drop``: close the connection. ``latency``: real seconds to wait
    first. All unset with ``early_retry`` set: the request goes ahead, flagged."""

    __slots__ = ("app_id", "code", "drop", "early_retry", "latency", "message", "method", "path", "retry_after",
                 "rule_id", "status", "throttled")

    def __init__(self, method: str, path: str, app_id: str) -> None:
        self.method = method
        self.path = path
        self.app_id = app_id
        self.rule_id: str | None = None
        self.status: int | None = None
        self.code: str | None = None
        self.message: str | None = None
        self.retry_after: int | None = None
        self.latency: float | None = None
        self.drop = False
        self.throttled = False
        self.early_retry: EarlyRetry | None = None


class Gate:
    """The tenant's fault rules, throttle and early-retry memory."""

    def __init__(self, clock: Clock, ledger: RetryLedger, throttle: ThrottleSettings) -> None:
        self.clock = clock
        self.ledger = ledger
        self.faults = FaultBook()
        self.throttle = Throttle(throttle)
        # (app, method, path) -> (real time, emulated time, Retry-After) of the last answer that asked to wait
        self._told_to_wait: dict[tuple[str, str, str], tuple[float, float, int]] = {}
        self.active = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute the fast-path flag: call after changing the fault rules or the throttle."""
        self.active = self.throttle.enabled or self.faults.has_request_rules or bool(self._told_to_wait)

    def add_faults(self, rules: Iterable[RequestFault | DeliveryFault]) -> list[InstalledRule]:
        """Install fault rules (all or none), windows given as durations counting from now: what the control
        plane and a scenario's ``faults:`` list call. Raises ``DuplicateRuleId`` or ``ValueError``."""
        added = self.faults.add(rules, self.clock.time())
        self.refresh()
        return added

    def configure_throttle(self, settings: ThrottleSettings) -> None:
        self.throttle.configure(settings)
        self.refresh()

    def screen(self, method: str, path: str, app_id: str, *, throttled: bool = True,
               now: float | None = None) -> Screening | None:
        """Decide for one logical request; ``throttled=False`` for a ``$batch`` envelope, whose requests count
        one by one instead. ``now``: the emulated time, when the caller has read it already."""
        if now is None:
            now = self.clock.time()
        screening: Screening | None = None
        told = self._told_to_wait
        if told:
            key = (app_id, method, path)
            earlier = told.get(key)
            if earlier is not None:
                waited = time.monotonic() - earlier[0]
                waited_emulated = now - earlier[1]
                if waited < earlier[2] and waited_emulated < earlier[2]:
                    screening = Screening(method, path, app_id)
                    screening.early_retry = EarlyRetry(earlier[2], waited, waited_emulated)
                    self.ledger.note_early_retry(app_id)
                else:
                    del told[key]
                    self.ledger.note_honoured_retry(app_id)
                    if not told:
                        self.refresh()
        rule = self.faults.for_request(method, path, app_id, now) if self.faults.has_request_rules else None
        if rule is not None:
            screening = screening or Screening(method, path, app_id)
            screening.rule_id = rule.id
            screening.latency = rule.latency
            screening.drop = rule.drop
            if rule.status is not None:
                screening.status = rule.status
                screening.code = rule.code
                screening.message = rule.message
                screening.retry_after = rule.effective_retry_after()
        answered = screening is not None and (screening.status is not None or screening.drop)
        if throttled and not answered and self.throttle.enabled:
            wait = self.throttle.admit(app_id, now)
            if wait:
                screening = screening or Screening(method, path, app_id)
                screening.status = 429
                screening.throttled = True
                screening.retry_after = wait
        if screening is not None and screening.status is not None and screening.retry_after:
            self._remember(app_id, method, path, now, screening.retry_after)
        return screening

    def _remember(self, app_id: str, method: str, path: str, now: float, retry_after: int) -> None:
        told = self._told_to_wait
        if len(told) >= _PENDING_LIMIT:
            real_now = time.monotonic()
            for key, (real_at, emulated_at, seconds) in list(told.items()):
                if real_now - real_at >= seconds or now - emulated_at >= seconds:
                    del told[key]
            while len(told) >= _PENDING_LIMIT:  # all still waiting: forget the oldest
                del told[next(iter(told))]
        told[(app_id, method, path)] = (time.monotonic(), now, retry_after)
        self.active = True

    def forget_retries(self) -> None:
        """Forget every pending Retry-After (when the journal is cleared, the slate is clean)."""
        self._told_to_wait.clear()
        self.refresh()
