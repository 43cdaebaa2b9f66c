"""Request bodies of the Graph presence actions, validated with pydantic, and the value types they carry.

Parsing stays here; a handler gets a validated model or a ``GraphError`` that says which field is wrong. The
models themselves are in ``bodies.py``, imported on first use: ``requests.SetPresenceBody`` and the like
resolve through this module's ``__getattr__``, so that a start that only answers reads never imports pydantic.
"""

from __future__ import annotations

import functools
import importlib
import re
import zoneinfo
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from emulator.graph import errors
from emulator.presence import states
from emulator.presence.directory import StatusExpiry

if TYPE_CHECKING:
    from emulator.graph.bodies import (
        ClearPresenceBody,
        DateTimeTimeZone,
        EmptyBody,
        GetPresencesBody,
        GraphBody,
        ItemBody,
        SetPreferredBody,
        SetPresenceBody,
        SetStatusMessageBody,
        StatusMessageBody,
        SubscriptionBody,
        SubscriptionUpdateBody,
    )

__all__ = [
    "ClearPresenceBody", "DateTimeTimeZone", "EmptyBody", "GetPresencesBody", "GraphBody", "ItemBody",
    "SetPreferredBody", "SetPresenceBody", "SetStatusMessageBody", "StatusMessageBody", "SubscriptionBody",
    "SubscriptionUpdateBody",
]
Body = TypeVar("Body", bound="GraphBody")


def __getattr__(name: str) -> Any:
    """The body models, imported on first use and then kept here as ordinary attributes."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("emulator.graph.bodies"), name)
    globals()[name] = value
    return value

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_UNIT_SECONDS = {"weeks": 604800.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
# Longer durations would carry emulated instants past what a datetime can hold (year 9999); none is meaningful.
MAX_DURATION_SECONDS = 100 * 365 * 86400.0


def parse_iso_duration(value: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT5M`` or ``P1DT2H``. Years and months (of no fixed length)
    and any other notation, ``"1:00:00"`` included, raise ``ValueError``; so does one over 100 years."""
    if isinstance(value, str):
        return _parse_iso_duration_text(value)
    raise ValueError(f"'{value}' is not an ISO 8601 duration such as 'PT5M' or 'PT1H30M'")


# Clients send the same few durations again and again, and the pattern costs more than the rest of a
# setPresence's validation; a failed parse raises and so is never cached.
@functools.lru_cache(maxsize=1024)
def _parse_iso_duration_text(value: str) -> float:
    match = _DURATION.match(value.strip().upper())
    if match is None:
        raise ValueError(f"'{value}' is not an ISO 8601 duration such as 'PT5M' or 'PT1H30M'")
    seconds = sum(float(amount) * _UNIT_SECONDS[unit] for unit, amount in match.groupdict().items() if amount)
    if not seconds <= MAX_DURATION_SECONDS:
        raise ValueError(f"'{value}' is longer than 100 years")
    return seconds


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every accepted zone name, lower-cased, to the IANA name it means (Windows names map through tzlocal)."""
    from tzlocal.windows_tz import win_tz  # at the first zone asked for, not at every start

    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    names.update({windows.lower(): iana for windows, iana in win_tz.items()})
    return names


def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name or by the Windows name Graph uses (``Pacific Standard Time``), in any case, as
    Windows zone ids are matched on the real service."""
    iana = _zone_names().get(name.lower())
    if iana is not None:
        try:
            return ZoneInfo(iana)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"'{name}' is not a known Windows or IANA time zone")


def resolve_date_time_zone(date_time: str, time_zone: str) -> float:
    """The instant a Graph dateTimeTimeZone names."""
    try:
        local = datetime.fromisoformat(date_time.rstrip("Z") if time_zone.upper() == "UTC" else date_time)
    except ValueError:
        raise ValueError(f"'{date_time}' is not an ISO 8601 date-time") from None
    try:
        if local.tzinfo is not None:
            return local.timestamp()
        return local.replace(tzinfo=zone(time_zone)).astimezone(UTC).timestamp()
    except OverflowError:  # e.g. 9999-12-31 in a zone west of UTC
        raise ValueError(f"'{date_time}' in '{time_zone}' is outside the representable range") from None


def json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body; an empty body counts as ``{}``, anything else is a Graph 400."""
    try:
        data = orjson.loads(raw) if raw and not raw.isspace() else {}
    except orjson.JSONDecodeError as exc:
        raise errors.malformed_json(str(exc)) from None
    if not isinstance(data, dict):
        raise errors.malformed_json("The body must be a JSON object.")
    return data


def without_annotations(data: Any) -> Any:
    """``data`` without ``@odata.*`` annotations (an SDK's ``@odata.type``), at any depth."""
    if isinstance(data, dict):
        return {k: without_annotations(v) for k, v in data.items() if not k.startswith("@odata.")}
    if isinstance(data, list):
        return [without_annotations(v) for v in data]
    return data


def parse_body(model: type[Body], raw: bytes) -> Body:
    """Validate a JSON body against ``model``, ignoring ``@odata.*`` annotations; an empty body counts as
    ``{}``."""
    data = json_object(raw)
    # Only a body that holds an annotation, or a \u escape that could spell one, is walked: this runs for
    # every action, and most bodies have neither.
    if b"@odata." in raw or b"\\u" in raw:
        data = without_annotations(data)
    try:
        return model.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError is one: naming it would be an import on every call
        from pydantic import ValidationError

        from emulator.graph.bodies import describe_validation_error

        if not isinstance(exc, ValidationError):
            raise
        raise errors.invalid_argument(describe_validation_error(exc)) from None


# -- field checks shared by the actions ------------------------------------------------------------------

def pair(availability: str, activity: str, allowed: frozenset[tuple[str, str]], action: str) -> tuple[str, str]:
    """Normalise an availability/activity pair and check it is one ``action`` supports."""
    a = states.normalise_availability(availability)
    b = states.normalise_activity(activity)
    if a is None or b is None or (a, b) not in allowed:
        supported = ", ".join(f"{x}/{y}" for x, y in sorted(allowed))
        raise errors.invalid_argument(
            f"The availability/activity pair '{availability}/{activity}' is not supported by {action}. "
            f"Supported pairs: {supported}.")
    return a, b


def session_duration(value: str | None) -> float:
    if value is None:
        return states.SESSION_DEFAULT_SECONDS
    seconds = duration(value)
    if not states.SESSION_MIN_SECONDS <= seconds <= states.SESSION_MAX_SECONDS:
        raise errors.duration_out_of_range()
    return seconds


def preferred_duration(value: str | None) -> float | None:
    if value is None:
        return None
    seconds = duration(value)
    if seconds <= 0:
        raise errors.duration_out_of_range()
    return seconds


def duration(value: str) -> float:
    try:
        return parse_iso_duration(value)
    except ValueError as exc:
        raise errors.invalid_argument(f"The property 'expirationDuration' is invalid: {exc}.") from None


def status_message(body: SetStatusMessageBody, now: float) -> tuple[str | None, StatusExpiry | None]:
    """Content (None to clear) and expiry of a setStatusMessage body."""
    message = body.statusMessage
    if message is None or message.message is None or not message.message.content:
        return None, None
    content_type = (message.message.contentType or "text").lower()
    if content_type != "text":
        raise errors.invalid_argument(
            f"The statusMessage contentType '{message.message.contentType}' is not supported; only 'text' is.")
    expiry = None
    if message.expiryDateTime is not None:
        given = message.expiryDateTime
        try:
            at = resolve_date_time_zone(given.dateTime, given.timeZone)
        except ValueError as exc:
            raise errors.invalid_argument(f"The property 'statusMessage.expiryDateTime' is invalid: {exc}.") from None
        if at <= now:
            raise errors.invalid_argument("The property 'statusMessage.expiryDateTime' must be in the future.")
        expiry = StatusExpiry(at, given.dateTime, given.timeZone)
    return message.message.content, expiry
