"""The fault rule: one pydantic model, shared by ``POST /_emulator/faults`` and scenario files' ``faults:`` list.

A rule has a *target* (``request``: an API request to the emulator; ``delivery``: a change notification the
emulator sends), criteria that say which requests or notifications it matches, and an effect. Every field
name is camelCase on the wire (snake_case works too). See ``docs/faults-and-journal.md``.

Matching, in order: the target's own criteria (method and path, or subscription and resource), the window on
the emulated clock, then ``nth``/``times`` (counted over the requests that got that far), then
``probability`` (a draw from the rule's own generator, seeded by ``seed``, so a run repeats exactly).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, field_validator, model_validator
from pydantic.alias_generators import to_camel

from emulator.traffic.paths import path_regex

METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})
MAX_LATENCY = 120.0  # real seconds: longer would outlast every client's timeout and only hang a test run
_RULE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)  # built at first use, not at serve's start


class Window(_Model):
    """When the rule is live, on the emulated clock. Each bound is an absolute date-time (``2026-09-21T14:00:00Z``)
    or an ISO 8601 duration (``PT5M``) counted from when the rule is installed. ``end`` is exclusive."""

    start: datetime | timedelta | None = None
    end: datetime | timedelta | None = None

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | timedelta | None) -> datetime | timedelta | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("a date-time needs a time zone (end it with Z for UTC)")
        if isinstance(value, timedelta) and value < timedelta(0):
            raise ValueError("a duration must not be negative")
        return value

    def bounds(self, installed_at: float) -> tuple[float, float]:
        """``(start, end)`` as emulated POSIX seconds."""
        def resolve(value: datetime | timedelta | None, default: float) -> float:
            if value is None:
                return default
            if isinstance(value, timedelta):
                return installed_at + value.total_seconds()
            return value.timestamp()
        start, end = resolve(self.start, float("-inf")), resolve(self.end, float("inf"))
        if end <= start:
            raise ValueError("the window ends before it starts")
        return start, end


class _Rule(_Model):
    id: str | None = Field(default=None, description="A name for the rule; one is given when absent.")
    description: str | None = Field(default=None, max_length=500)
    window: Window | None = None
    nth: int | None = Field(default=None, ge=1, description="Fire first on the nth matching request (1 = first).")
    times: int | None = Field(default=None, ge=1, description="Fire at most this many times (1 when nth is set).")
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = Field(default=None, description="Seeds the probability draws; without one, runs differ.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not _RULE_ID.match(value):
            raise ValueError("an id is 1-64 letters, digits or _ . : -")
        return value

    @property
    def fire_limit(self) -> int | None:
        if self.times is not None:
            return self.times
        return 1 if self.nth is not None else None


class RequestFault(_Rule):
    """A fault on the emulator's Graph API: answer with an error, answer late, or drop the connection."""

    target: Literal["request"] = "request"
    method: str | list[str] | None = Field(default=None, description="GET, POST, …; a list; absent: any.")
    path: str | None = Field(
        default=None,
        description="A glob over the path, case-insensitive: '*' stays within a segment, '**' crosses them "
                    "('/v1.0/users/*/presence', '/**/setPresence'); 're:' starts a regular expression. "
                    "Absent: any path, $batch envelopes included.")
    application_id: str | None = Field(default=None, description="Only requests whose token names this app.")
    status: int | None = Field(default=None, ge=400, le=599)
    code: str | None = Field(default=None, min_length=1, max_length=100)
    message: str | None = Field(default=None, min_length=1, max_length=1000)
    retry_after: int | None = Field(default=None, ge=0, le=86_400,
                                    description="Retry-After seconds; 429 and 503 get 1 when absent.")
    latency: float | None = Field(default=None, gt=0, le=MAX_LATENCY, description="Real seconds to wait first.")
    drop: bool = Field(default=False, description="Close the connection without answering.")

    @field_validator("method")
    @classmethod
    def _methods(cls, value: str | list[str] | None) -> str | list[str] | None:
        names = [value] if isinstance(value, str) else value or []
        for name in names:
            if name.upper() not in METHODS:
                raise ValueError(f"'{name}' is not an HTTP method ({', '.join(sorted(METHODS))})")
        if isinstance(value, list) and not value:
            raise ValueError("give at least one method, or leave 'method' out to match any")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            path_regex(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _effect(self) -> RequestFault:
        if self.status is None and self.latency is None and not self.drop:
            raise ValueError("a request fault needs an effect: 'status', 'latency' or 'drop': true")
        if self.drop and self.status is not None:
            raise ValueError("'drop' closes the connection, so it cannot also answer with a 'status'")
        if self.status is None and (self.code or self.message or self.retry_after is not None):
            raise ValueError("'code', 'message' and 'retryAfter' shape an error answer: give 'status' too")
        return self

    def methods(self) -> frozenset[str] | None:
        if self.method is None:
            return None
        names = [self.method] if isinstance(self.method, str) else self.method
        return frozenset(name.upper() for name in names)

    def effective_retry_after(self) -> int | None:
        if self.retry_after is not None:
            return self.retry_after
        return 1 if self.status in (429, 503) else None


class DeliveryFault(_Rule):
    """A fault on a change notification the emulator delivers: send it twice or more, late, or out of order."""

    target: Literal["delivery"]
    subscription_id: str | None = None
    resource: str | None = Field(default=None, description="A glob over the notification's resource.")
    notification_url: str | None = Field(default=None, description="A glob over the receiver's URL.")
    change_type: str | None = Field(
        default=None, description="'updated', or a lifecycle event such as 'reauthorizationRequired'.")
    duplicate: int = Field(default=0, ge=0, le=10, description="Extra copies to send.")
    delay: timedelta | None = Field(default=None, description="Emulated time to hold the notification back.")
    out_of_order: bool = Field(default=False,
                               description="Hold it until the URL's next POST has gone, or 'holdFor' has passed.")
    hold_for: timedelta | None = Field(
        default=None, description="With 'outOfOrder': the longest emulated time to hold it when no other POST "
                                  "comes to the URL (default PT1M).")

    @field_validator("resource", "notification_url")
    @classmethod
    def _glob(cls, value: str | None) -> str | None:
        if value is not None:
            path_regex(value)
        return value

    @field_validator("delay", "hold_for")
    @classmethod
    def _delay(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("a duration here must be longer than zero")
        return value

    @model_validator(mode="after")
    def _effect(self) -> DeliveryFault:
        if not self.duplicate and self.delay is None and not self.out_of_order:
            raise ValueError("a delivery fault needs an effect: 'duplicate', 'delay' or 'outOfOrder': true")
        if self.hold_for is not None and not self.out_of_order:
            raise ValueError("'holdFor' bounds an 'outOfOrder' hold: give 'outOfOrder': true too")
        return self


def _target(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("target", "request"))
    return str(getattr(value, "target", "request"))


FaultRule = Annotated[
    Annotated[RequestFault, Tag("request")] | Annotated[DeliveryFault, Tag("delivery")],
    Discriminator(_target, custom_error_type="invalid_target",
                  custom_error_message="'target' must be 'request' (the default) or 'delivery'"),
]
# Built at their first use (the first POST /_emulator/faults), not at import: serve's cold start pays for neither.
FAULT_RULE: TypeAdapter[RequestFault | DeliveryFault] = TypeAdapter(FaultRule, config=ConfigDict(defer_build=True))
FAULT_RULES: TypeAdapter[list[RequestFault | DeliveryFault]] = TypeAdapter(
    list[FaultRule], config=ConfigDict(defer_build=True))
