"""Throttling: a sliding window of admitted requests per application, on the emulated clock.

Microsoft documents two presence limits (1,500 and 10,000 requests per 30 seconds per application per tenant;
``graph-presence-spec.md`` 5.3), so both are presets and any other limit can be set. A rejected request does
not take a slot, so the ``Retry-After`` it is told is exact: after that many seconds a slot is free.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

PRESETS: dict[str, tuple[int, float]] = {"1500": (1500, 30.0), "10000": (10000, 30.0)}
MAX_LIMIT = 10_000_000
MAX_WINDOW_SECONDS = 86_400.0
ThrottleCode = Literal["activityLimitReached", "TooManyRequests"]
_CUSTOM = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """Throttling as set by ``serve --throttle`` or ``POST /_emulator/throttling``.

    ``{"preset": "1500"}``, ``{"preset": "10000"}``, ``{"limit": 50, "windowSeconds": 10}``, or
    ``{"enabled": false}``. ``code`` is the error code of the 429 body: Microsoft documents none for presence;
    ``activityLimitReached`` is the documented code for "the app or user has been throttled" (errors.md).
    A plain value: the HTTP body is validated by ``control/bodies.py``'s ``ThrottleSettingsBody``.
    """

    enabled: bool = True
    preset: Literal["1500", "10000"] | None = None
    limit: int | None = None
    window_seconds: float | None = None
    code: ThrottleCode = "activityLimitReached"

    def __post_init__(self) -> None:
        if self.limit is not None and not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"'limit' must be between 1 and {MAX_LIMIT}")
        if self.window_seconds is not None and not 0 < self.window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"'windowSeconds' must be more than 0 and at most {MAX_WINDOW_SECONDS:g}")
        if self.enabled and self.preset is not None and (self.limit is not None or self.window_seconds is not None):
            raise ValueError("give either 'preset' or 'limit' (and 'windowSeconds'), not both")
        if self.enabled and self.preset is None and self.limit is None:
            raise ValueError("give 'preset' (\"1500\" or \"10000\") or 'limit' (with 'windowSeconds', 30 by "
                             "default), or 'enabled': false")

    @property
    def max_requests(self) -> int:
        """Requests admitted per window (0 when off)."""
        if not self.enabled:
            return 0
        return PRESETS[self.preset][0] if self.preset is not None else self.limit or 0

    @property
    def window(self) -> float:
        """The window's length in emulated seconds (0 when off)."""
        if not self.enabled:
            return 0.0
        if self.preset is not None:
            return PRESETS[self.preset][1]
        return self.window_seconds if self.window_seconds is not None else 30.0

    def describe(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "preset": self.preset,
            "limit": self.max_requests if self.enabled else None,
            "windowSeconds": self.window if self.enabled else None,
            "code": self.code,
        }


OFF = ThrottleSettings(enabled=False)


def parse_throttle_flag(text: str) -> ThrottleSettings:
    """``1500``, ``10000``, ``N/SECONDS`` (e.g. ``100/10``) or ``off``: the ``--throttle`` flag's forms."""
    value = text.strip().lower()
    if value in ("off", "none", "0"):
        return OFF
    if value in PRESETS:
        return ThrottleSettings(preset="1500" if value == "1500" else "10000")
    match = _CUSTOM.match(value)
    if match is None or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"'{text}' is not a throttle: use 1500, 10000, N/SECONDS (such as 100/10) or off")
    return ThrottleSettings(limit=int(match.group(1)), window_seconds=float(match.group(2)))


class Throttle:
    """Admitted-request times per application id, oldest first; one deque each."""

    def __init__(self, settings: ThrottleSettings = OFF) -> None:
        self.settings = settings
        self.enabled = settings.enabled
        self._limit = settings.max_requests
        self._window = settings.window
        self._windows: dict[str, deque[float]] = {}
        self.rejected = 0

    def configure(self, settings: ThrottleSettings) -> None:
        """Apply new settings; the requests already counted stay counted (a limit change is not a reset)."""
        self.settings = settings
        self.enabled = settings.enabled
        self._limit = settings.max_requests
        self._window = settings.window
        if not settings.enabled:
            self._windows.clear()

    def admit(self, app_id: str, now: float) -> int:
        """0 when the request may go ahead (and is counted); else the whole seconds until a slot frees."""
        window = self._windows.get(app_id)
        if window is None:
            window = self._windows[app_id] = deque()
        horizon = now - self._window
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) < self._limit:
            window.append(now)
            return 0
        self.rejected += 1
        return max(1, math.ceil(window[0] + self._window - now))

    def usage(self, now: float) -> dict[str, int]:
        """Requests in the current window per application."""
        horizon = now - self._window
        return {app: sum(1 for t in window if t > horizon) for app, window in self._windows.items()}
