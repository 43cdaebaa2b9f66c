"""Presence vocabulary: availability and activity values, the pairs each action accepts, and their ranking.

Values go out in PascalCase, as in every Graph example and the SDKs' models; input is matched
case-insensitively and normalised (../shared/decisions.md, "Wire format").
"""

from __future__ import annotations

AVAILABILITIES: tuple[str, ...] = (
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    "PresenceUnknown",
)

ACTIVITIES: tuple[str, ...] = (
    "Available",
    "AvailableInactive",
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "Focusing",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    "PresenceUnknown",
    "Presenting",
    "UrgentInterruptionsOnly",
)

_AVAILABILITY_BY_LOWER = {a.lower(): a for a in AVAILABILITIES}
_ACTIVITY_BY_LOWER = {a.lower(): a for a in ACTIVITIES}

# What an application may set with setPresence (presence-setpresence.md, current v1.0 and beta).
SET_PRESENCE_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)

# What setUserPreferredPresence accepts (presence-setuserpreferredpresence.md).
PREFERRED_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)

# Aggregation precedence: DoNotDisturb > Busy > Available > Away (BeRightBack with Away) > Offline.
RANK: dict[str, int] = {
    "DoNotDisturb": 5,
    "Busy": 4,
    "BusyIdle": 4,
    "Available": 3,
    "AvailableIdle": 3,
    "Away": 2,
    "BeRightBack": 2,
    "Offline": 1,
    "PresenceUnknown": 0,
}

OFFLINE: tuple[str, str] = ("Offline", "Offline")
UNKNOWN: tuple[str, str] = ("PresenceUnknown", "PresenceUnknown")

# Idle fade of an Available session (cloud-communications-manage-presence-state.md).
FADE_TO_INACTIVE_SECONDS = 5 * 60
FADE_TO_AWAY_SECONDS = 10 * 60

# setPresence expirationDuration: default and documented range.
SESSION_DEFAULT_SECONDS = 5 * 60
SESSION_MIN_SECONDS = 5 * 60
SESSION_MAX_SECONDS = 4 * 60 * 60

# Preferred presence default expiry: 1 day for Busy and DoNotDisturb, 7 days for the rest.
PREFERRED_SHORT_DEFAULT_SECONDS = 24 * 60 * 60
PREFERRED_LONG_DEFAULT_SECONDS = 7 * 24 * 60 * 60


def normalise_availability(value: str) -> str | None:
    return _AVAILABILITY_BY_LOWER.get(value.lower())


def normalise_activity(value: str) -> str | None:
    return _ACTIVITY_BY_LOWER.get(value.lower())


def preferred_default_seconds(availability: str) -> int:
    if availability in ("Busy", "DoNotDisturb"):
        return PREFERRED_SHORT_DEFAULT_SECONDS
    return PREFERRED_LONG_DEFAULT_SECONDS
