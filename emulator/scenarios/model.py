"""The scenario file format: pydantic models, one per YAML mapping, from which the JSON Schema is generated.

Checks that need only one field (a value in a vocabulary, a duration, a time) live here as validators, so
that pydantic reports them with their path; checks that span the file (users exist, no clash, caps, events
after the start) live in ``loader.py``. Every field with a Graph counterpart uses Graph's name and values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from emulator.graph.requests import parse_iso_duration, resolve_date_time_zone
from emulator.presence import states
from emulator.presence.directory import is_guid
from emulator.traffic.fault_rules import FaultRule

# A crowd larger than this, or a scenario with more users in all, is refused (a stated cap, docs/scenarios.md).
MAX_USERS = 20_000
# Timeline occurrences after repetition and crowds are expanded.
MAX_OCCURRENCES = 2_000_000

_SHORT_DURATION = re.compile(
    r"^(?=\d)(?:(?P<d>\d+(?:\.\d+)?)d)?(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)
_SHORT_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
DURATION_HINT = "a duration such as 90s, 2h15m, 1d or ISO 8601 PT1H30M"
TIME_HINT = f"{DURATION_HINT} (after the start) or a date-time such as 2026-03-02T09:00:00Z"


def parse_duration(text: str) -> float:
    """Seconds in ``90s``/``2h15m``/``1d`` or an ISO 8601 duration (``PT5M``, ``P1D``)."""
    value = text.strip()
    match = _SHORT_DURATION.match(value)
    if match is not None and value:
        return sum(float(v) * _SHORT_UNITS[k] for k, v in match.groupdict().items() if v)
    if value[:1].upper() == "P":
        try:
            return parse_iso_duration(value)
        except ValueError:
            pass
    raise ValueError(f"'{text}' is not {DURATION_HINT}")


def parse_datetime(text: str) -> float:
    """POSIX seconds of an ISO 8601 date-time; one without an offset is UTC."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a date-time such as 2026-03-02T09:00:00Z") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_time_point(text: str) -> tuple[Literal["offset", "absolute"], float]:
    """An ``at``/``until`` value: an offset from the scenario's start, or an absolute date-time."""
    try:
        return "offset", parse_duration(text)
    except ValueError:
        pass
    if re.match(r"^\d{4}-\d{2}-\d{2}", text.strip()):
        return "absolute", parse_datetime(text)
    raise ValueError(f"'{text}' is not {TIME_HINT}")


def datetime_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _yaml_scalar_to_text(value: Any) -> Any:
    # YAML turns an unquoted 2026-03-02T09:00:00Z into a datetime; keep the file's meaning as text.
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return _no_bare_number(value)


def _no_bare_number(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit (expected {DURATION_HINT}; note that YAML reads 1:30 as 90)")
    return value


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


def _check_time_point(text: str) -> str:
    parse_time_point(text)
    return text


def _check_datetime(text: str) -> str:
    parse_datetime(text)
    return text


def _check_guid(text: str) -> str:
    if not is_guid(text):
        raise ValueError(f"'{text}' is not a GUID (expected e.g. fa8bf3dc-eca7-46b7-bad1-db199b62afc3)")
    return text.lower()


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def availability_value(text: str) -> str:
    found = states.normalise_availability(text)
    if found is None:
        raise ValueError(f"'{text}' is not a valid availability (expected one of {_one_of(states.AVAILABILITIES)})")
    return found


def activity_value(text: str) -> str:
    found = states.normalise_activity(text)
    if found is None:
        raise ValueError(f"'{text}' is not a valid activity (expected one of {_one_of(states.ACTIVITIES)})")
    return found


Duration = Annotated[
    str, BeforeValidator(_no_bare_number), AfterValidator(_check_duration),
    Field(description=f"{DURATION_HINT}.", examples=["90s", "2h15m", "PT5M", "P1D"],
          json_schema_extra={"pattern": r"^(\d+(\.\d+)?[dhms])+$|^P"}),
]
TimePoint = Annotated[
    str, BeforeValidator(_yaml_scalar_to_text), AfterValidator(_check_time_point),
    Field(description=f"When: {TIME_HINT}.", examples=["90s", "2h15m", "PT8H", "2026-03-02T09:00:00Z"]),
]
DateTimeText = Annotated[
    str, BeforeValidator(_yaml_scalar_to_text), AfterValidator(_check_datetime),
    Field(description="An ISO 8601 date-time; without an offset it is UTC.", examples=["2026-03-02T08:00:00Z"]),
]
Guid = Annotated[str, AfterValidator(_check_guid), Field(description="A GUID.")]
Availability = Annotated[str, AfterValidator(availability_value),
                         Field(description="A Graph availability value.", examples=list(states.AVAILABILITIES))]
Activity = Annotated[str, AfterValidator(activity_value),
                     Field(description="A Graph activity value.", examples=list(states.ACTIVITIES))]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pair_check(availability: str | None, activity: str, allowed: frozenset[tuple[str, str]], action: str) -> None:
    if availability is not None and (availability, activity) not in allowed:
        pairs = ", ".join(f"{a}/{b}" for a, b in sorted(allowed))
        raise ValueError(f"'{availability}/{activity}' is not a pair {action} accepts (expected one of {pairs})")


# -- events ------------------------------------------------------------------------------------------------

class _GraphPair(Model):
    """An availability/activity pair that one Graph action accepts (the subclass says which)."""

    ACTION: ClassVar[str]
    PAIRS: ClassVar[frozenset[tuple[str, str]]]

    availability: Availability
    activity: Activity

    @field_validator("activity")
    @classmethod
    def _pair(cls, activity: str, info: ValidationInfo) -> str:
        _pair_check(info.data.get("availability"), activity, cls.PAIRS, cls.ACTION)
        return activity


class SetPresence(_GraphPair):
    """An application's presence session, with Graph's setPresence rules: five pairs, PT5M-PT4H, idle fade."""

    ACTION = "setPresence"
    PAIRS = states.SET_PRESENCE_PAIRS

    sessionId: str = Field(min_length=1, description="The application's session id (Graph: sessionId).")
    expirationDuration: Duration | None = Field(
        default=None, description="PT5M to PT4H; PT5M when absent, as on Graph.")

    @field_validator("expirationDuration")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is not None and not (
                states.SESSION_MIN_SECONDS <= parse_duration(value) <= states.SESSION_MAX_SECONDS):
            raise ValueError(f"'{value}' is out of range (expected PT5M to PT4H)")
        return value


class SetTeamsPresence(Model):
    """A Teams client's session (desktop, mobile, web): any documented availability/activity pair, no expiry
    and no idle fade unless given."""

    sessionId: str = Field(min_length=1, description="The device or client, e.g. desktop, mobile, web.")
    availability: Availability
    activity: Activity
    expirationDuration: Duration | None = Field(default=None, description="When the session lapses; never when absent.")
    idleFade: bool = Field(default=False, description="Fade Available -> AvailableInactive -> Away when idle.")


class ClearPresence(Model):
    """End a session (an application's or a Teams client's). A session that no longer exists is skipped."""

    sessionId: str = Field(min_length=1)


class SetUserPreferredPresence(_GraphPair):
    ACTION = "setUserPreferredPresence"
    PAIRS = states.PREFERRED_PAIRS

    expirationDuration: Duration | None = Field(
        default=None, description="When absent: 1 day for Busy and DoNotDisturb, 7 days otherwise, as on Graph.")


class ItemBody(Model):
    content: str | None = None
    contentType: Literal["text"] = "text"


class DateTimeTimeZone(Model):
    dateTime: DateTimeText
    timeZone: str = "UTC"

    @field_validator("timeZone")
    @classmethod
    def _zone(cls, value: str, info: ValidationInfo) -> str:
        given = info.data.get("dateTime")
        resolve_date_time_zone(given or "2000-01-01T00:00:00", value)
        return value


class SetStatusMessage(Model):
    """Graph's statusMessage: an empty or missing content clears it."""

    message: ItemBody | None = None
    expiryDateTime: DateTimeTimeZone | None = None
    expiresAfter: Duration | None = Field(default=None, description="Expiry relative to the event (scenario only).")

    @model_validator(mode="after")
    def _one_expiry(self) -> SetStatusMessage:
        if self.expiryDateTime is not None and self.expiresAfter is not None:
            raise ValueError("give expiryDateTime or expiresAfter, not both")
        return self


class OutOfOfficeSettings(Model):
    isOutOfOffice: bool
    message: str | None = None


# Graph's lifecycle events (a lifecycle notification's lifecycleEvent); the notifications side sends them.
LifecycleEvent = Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]


class LifecycleNotification(Model):
    """A lifecycle notification to every subscription watching the user, as if Graph sent it: to each one's
    lifecycleNotificationUrl (else its notificationUrl). subscriptionRemoved also deletes the subscription."""

    lifecycleEvent: LifecycleEvent = Field(description="Graph's lifecycleEvent value.")


ACTIONS: tuple[str, ...] = (
    "setPresence", "setTeamsPresence", "clearPresence", "setUserPreferredPresence",
    "clearUserPreferredPresence", "setStatusMessage", "outOfOfficeSettings", "lifecycleNotification",
)


class ClearUserPreferredPresence(Model):
    pass


class Event(Model):
    """One timeline entry: when, who, optionally how often, and exactly one action."""

    at: TimePoint
    user: str | None = Field(default=None, description="A listed user's id or userPrincipalName.")
    crowd: str | None = Field(default=None, description="A crowd's name: every member, each with its jitter.")
    every: Duration | None = Field(default=None, description="Repeat at this interval (needs count or until).")
    count: int | None = Field(default=None, ge=1, description="How many times in all, the first included.")
    until: TimePoint | None = Field(default=None, description="Repeat while the occurrence is at or before this.")
    setPresence: SetPresence | None = None
    setTeamsPresence: SetTeamsPresence | None = None
    clearPresence: ClearPresence | None = None
    setUserPreferredPresence: SetUserPreferredPresence | None = None
    clearUserPreferredPresence: ClearUserPreferredPresence | None = None
    setStatusMessage: SetStatusMessage | None = None
    outOfOfficeSettings: OutOfOfficeSettings | None = None
    lifecycleNotification: LifecycleNotification | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_clear(cls, data: Any) -> Any:
        # `clearUserPreferredPresence:` with nothing after it is the natural way to write it.
        if isinstance(data, dict) and "clearUserPreferredPresence" in data and data[
                "clearUserPreferredPresence"] is None:
            data = {**data, "clearUserPreferredPresence": {}}
        return data

    @model_validator(mode="after")
    def _shape(self) -> Event:
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            found = f"found {', '.join(given)}" if given else "found none"
            raise ValueError(f"an event needs exactly one action ({found}; expected one of {', '.join(ACTIONS)})")
        if (self.user is None) == (self.crowd is None):
            raise ValueError("an event needs exactly one of user or crowd")
        if self.every is None and (self.count is not None or self.until is not None):
            raise ValueError("count and until need every")
        if self.every is not None:
            if (self.count is None) == (self.until is None):
                raise ValueError("every needs exactly one of count or until")
            if parse_duration(self.every) <= 0:
                raise ValueError("every must be longer than 0s")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)


# -- users, crowds, clock, the file --------------------------------------------------------------------------

class UserSpec(Model):
    id: Guid
    userPrincipalName: str | None = None
    displayName: str | None = None
    outOfOfficeSettings: OutOfOfficeSettings | None = None


_PATTERN_FIELD = re.compile(r"\{n(?::0?(\d+)([dx]))?\}")


def expand_pattern(pattern: str, n: int) -> str:
    """``{n}``, ``{n:04d}`` or ``{n:012x}`` replaced by the member's number."""
    def one(match: re.Match[str]) -> str:
        width, kind = match.group(1), match.group(2)
        if kind is None:
            return str(n)
        return format(n, f"0{width}{kind}")
    return _PATTERN_FIELD.sub(one, pattern)


def _check_pattern(text: str) -> str:
    if _PATTERN_FIELD.search(text) is None:
        raise ValueError(f"'{text}' has no {{n}} (expected a pattern such as agent{{n:04d}}@contoso.com)")
    rest = _PATTERN_FIELD.sub("", text)
    if "{" in rest or "}" in rest:
        raise ValueError(f"'{text}' has a placeholder other than {{n}}, {{n:04d}} or {{n:012x}}")
    return text


Pattern = Annotated[str, AfterValidator(_check_pattern),
                    Field(description="A pattern with {n}, {n:04d} or {n:012x} for the member's number.")]


class Crowd(Model):
    """N generated users, addressed together by name; each event on a crowd is jittered per member."""

    name: str = Field(min_length=1)
    count: int = Field(ge=1, description=f"How many members (at most {MAX_USERS} users per scenario).")
    first: int = Field(default=1, ge=0, description="The number of the first member.")
    id: Pattern = Field(description="Id pattern; must give GUIDs, e.g. 6a1c0000-0000-4000-8000-{n:012d}.")
    userPrincipalName: Pattern | None = None
    displayName: Pattern | None = None
    seed: int = Field(default=0, description="Seed of the jitter, so a crowd plays the same on every run.")
    jitter: Duration = Field(default="0s", description="Each member's events are shifted by one random 0..jitter.")

    @model_validator(mode="after")
    def _ids_are_guids(self) -> Crowd:
        for n in (self.first, self.first + self.count - 1):
            generated = expand_pattern(self.id, n)
            if not is_guid(generated):
                raise ValueError(f"id pattern gives '{generated}' for member {n}, which is not a GUID")
        return self


class ClockSpec(Model):
    start: DateTimeText | None = Field(default=None, description="Emulated start; the real time when absent.")
    mode: Literal["real", "manual", "speed"] | None = Field(
        default=None, description="real (default), manual (moves only when advanced) or speed.")
    speed: float | None = Field(default=None, gt=0, description="Emulated seconds per real second (mode speed).")

    @model_validator(mode="after")
    def _speed_needs_mode(self) -> ClockSpec:
        if self.speed is not None and self.mode not in (None, "speed"):
            raise ValueError(f"speed needs mode speed (found mode {self.mode})")
        return self


class ScenarioDocument(Model):
    """One scenario file."""

    model_config = ConfigDict(title="Graph presence emulator scenario", extra="forbid", frozen=True)

    tenantId: Guid | None = None
    clock: ClockSpec | None = None
    restrictUsers: bool | None = Field(
        default=None, description="Only listed users (and crowds) exist: others get 404 / PresenceUnknown.")
    users: list[UserSpec] = Field(default_factory=list)
    crowds: list[Crowd] = Field(default_factory=list)
    timeline: list[Event] = Field(default_factory=list)
    faults: list[FaultRule] = Field(
        default_factory=list,
        description="Fault rules, as POST /_emulator/faults takes them (docs/faults-and-journal.md), installed "
                    "when the scenario is played: window durations count from its start.")


def json_schema() -> dict[str, Any]:
    schema = ScenarioDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
