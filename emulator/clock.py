"""The one virtual clock and the one scheduler that every timed thing in the emulator runs on.

Emulated time is a float of POSIX seconds (UTC). The clock maps real monotonic time onto emulated time at a
rate: 1 for ``real``, N for ``speed``, 0 for ``manual`` (it moves only when advanced). The scheduler keeps
every pending timed effect (session expiry, idle fade, status-message expiry, subscription expiry, delivery
retries, scenario events) in one heap. Advancing the clock runs what falls due, in time order, with the clock
standing at each entry's due time while it runs. A real or sped-up clock is driven by ``RealTimeDriver``,
which only converts "next due in emulated seconds" into a real-time wake-up.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

ClockMode = Literal["real", "manual", "speed"]

log = logging.getLogger(__name__)


def to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def to_timestamp(dt: datetime) -> float:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def format_graph_datetime(ts: float) -> str:
    """Graph's DateTimeOffset form: seven fractional digits and a Z."""
    dt = to_datetime(ts)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


class Clock:
    """Emulated wall-clock time, as POSIX seconds, moving at a settable rate against real time."""

    def __init__(self, mode: ClockMode = "real", *, start: float | None = None, speed: float = 1.0) -> None:
        self._anchor_emulated = time.time() if start is None else start
        self._anchor_real = time.monotonic()
        # Start as manual, which reads the anchor exactly, so that set_mode below begins at ``start`` to the
        # microsecond whatever the mode (a real-mode read here would add the time spent since the line above).
        self._mode: ClockMode = "manual"
        self._speed = 1.0
        self.set_mode(mode, speed=speed)

    @property
    def mode(self) -> ClockMode:
        return self._mode

    @property
    def speed(self) -> float:
        """Emulated seconds per real second (0 when manual)."""
        return 0.0 if self._mode == "manual" else self._speed

    def time(self) -> float:
        if self._mode == "manual":
            return self._anchor_emulated
        return self._anchor_emulated + (time.monotonic() - self._anchor_real) * self._speed

    def now(self) -> datetime:
        return to_datetime(self.time())

    def set_mode(self, mode: ClockMode, *, speed: float | None = None) -> None:
        """Switch mode without a jump: the clock continues from where it stands."""
        if mode not in ("real", "manual", "speed"):
            raise ValueError(f"unknown clock mode {mode!r}")
        current = self.time()
        if mode == "real":
            rate = 1.0
        elif mode == "speed":
            rate = self._speed if speed is None else speed
            if not rate > 0:
                raise ValueError("speed must be greater than 0")
        else:
            rate = self._speed
        self._anchor_emulated = current
        self._anchor_real = time.monotonic()
        self._mode = mode
        self._speed = rate

    def _jump_to(self, ts: float) -> None:
        """Move emulated time to ``ts`` (never backwards); only the scheduler calls this."""
        if ts > self.time():
            self._anchor_emulated = ts
            if self._mode != "manual":  # a manual clock ignores real time: spare the system call
                self._anchor_real = time.monotonic()

    def describe(self) -> dict[str, object]:
        return {
            "mode": self._mode,
            "speed": self.speed,
            "now": format_graph_datetime(self.time()),
        }


class TimerHandle:
    """A scheduled callback; ``cancel()`` makes it a no-op (it is dropped lazily from the heap)."""

    __slots__ = ("callback", "cancelled", "label", "when")

    def __init__(self, when: float, callback: Callable[[], None], label: str) -> None:
        self.when = when
        self.callback = callback
        self.label = label
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """One heap of timed callbacks over one clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._running = False
        self._horizon = 0.0  # how far the run in progress goes
        self._moving = False  # whether the run in progress moves the clock (advance) or not (run_due)
        self.pushes = 0  # entries scheduled so far (a callback's window() is stale once this moves)
        # Called with the new earliest due time whenever it moves earlier, so a real-time driver can re-arm.
        self.on_earlier: Callable[[float], None] | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, when: float, callback: Callable[[], None], label: str = "") -> TimerHandle:
        handle = TimerHandle(when, callback, label)
        earliest = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (when, next(self._counter), handle))
        self.pushes += 1
        if self.on_earlier is not None and (earliest is None or when < earliest):
            self.on_earlier(when)
        return handle

    def call_later(self, delay: float, callback: Callable[[], None], label: str = "") -> TimerHandle:
        return self.call_at(self.clock.time() + delay, callback, label)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def is_due(self, now: float) -> bool:
        """Whether an entry (perhaps a cancelled one) is due at ``now``: one comparison, for every request."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= now

    def pending(self) -> list[TimerHandle]:
        """Live entries in due order (for the control plane's timeline view)."""
        return [h for _, _, h in sorted(self._heap) if not h.cancelled]

    def run_due(self) -> int:
        """Run every entry due at or before the clock's current time, in order. Returns how many ran."""
        return self._run_until(self.clock.time(), move_clock=False)

    def advance(self, seconds: float) -> int:
        """Move the clock forward by ``seconds``, running everything that falls due on the way, in order."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        target = self.clock.time() + seconds
        ran = self._run_until(target, move_clock=True)
        self.clock._jump_to(target)
        return ran

    def window(self) -> tuple[float, float]:
        """From inside a running callback: how far it may carry on by itself without a heap round trip — up
        to the first value (where the run in progress stops) and strictly before the second (the next other
        entry, which was scheduled earlier and so goes first at a tie). Valid until ``pushes`` changes. Lets
        a dense batch (a 5,000-member crowd's timeline) run at the speed of the domain."""
        if not self._running:
            return -math.inf, -math.inf
        due = self.next_due()
        return self._horizon, math.inf if due is None else due

    def move_to(self, when: float) -> None:
        """Stand the clock at ``when`` inside the window (a no-op for a run that does not move the clock)."""
        if self._moving:  # the window only runs forward, so this is _jump_to without its checks (a hot path)
            clock = self.clock
            clock._anchor_emulated = when
            if clock._mode != "manual":
                clock._anchor_real = time.monotonic()

    def _run_until(self, target: float, *, move_clock: bool) -> int:
        if self._running:  # a callback that advances the clock would re-enter; it only moves time then
            return 0
        self._running = True
        self._horizon = target
        self._moving = move_clock
        ran = 0
        heap = self._heap
        clock = self.clock
        try:
            while heap and heap[0][0] <= target:
                when, _, handle = heapq.heappop(heap)
                if handle.cancelled:
                    continue
                if move_clock:
                    clock._jump_to(when)
                handle.cancelled = True
                try:
                    handle.callback()
                except Exception:  # one failing entry must not stop time for everything else
                    log.exception("scheduled callback %r failed", handle.label)
                ran += 1
        finally:
            self._running = False
        return ran


class RealTimeDriver:
    """Runs the scheduler's entries when they fall due while the clock moves by itself (real or speed mode)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.scheduler.on_earlier = lambda _when: self.rearm()
        self.rearm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.scheduler.on_earlier = None
        self._loop = None

    def rearm(self) -> None:
        """Recompute the real-time wake-up (call after the clock's mode or speed changes)."""
        if self._loop is None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        clock = self.scheduler.clock
        if clock.mode == "manual":
            return
        due = self.scheduler.next_due()
        if due is None:
            return
        delay = max(0.0, (due - clock.time()) / clock.speed)
        # Cap the wait so that a mode change we are not told about is picked up within a second.
        self._timer = self._loop.call_later(min(delay, 1.0), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.scheduler.run_due()
        self.rearm()
