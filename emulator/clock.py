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
from typing import Any, Literal

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
    """A scheduled callback; ``cancel()`` makes it a no-op (the scheduler drops it from its heap later).

    ``label`` says what the entry is, for logs and timeline views. Given ``args``, the callback is called with
    them and the label is a ``str.format`` template over them, filled in only when read: an entry per session
    then costs no closure and no string until someone looks (100,000 sessions are 100,000 entries).
    """

    __slots__ = ("_label", "_scheduler", "args", "callback", "cancelled", "order", "when")

    def __init__(self, when: float, callback: Callable[..., None], label: str, args: tuple[Any, ...] = (),
                 scheduler: Scheduler | None = None, order: int = 0) -> None:
        self.when = when  # when it runs (``Scheduler.postpone`` may move it later)
        self.order = order  # among entries due at the same instant, lower runs first
        self.callback = callback
        self.args = args
        self._label = label
        self._scheduler = scheduler
        self.cancelled = False

    @property
    def label(self) -> str:
        return self._label.format(*self.args) if self.args else self._label

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            # Its arguments often hold what holds this handle (a session and its timer): letting them go
            # breaks the cycle, so reference counting frees both and the garbage collector need not.
            self.args = ()
            if self._scheduler is not None:
                self._scheduler._cancelled()


class Scheduler:
    """One heap of timed callbacks over one clock."""

    # Cancelled entries stay in the heap until they come up, unless they make up most of it: then it is rebuilt
    # without them, so that re-setting the same sessions over and over keeps memory and heap depth bounded.
    COMPACT_MIN_CANCELLED = 256

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._cancelled_in_heap = 0
        self._running = False
        self._horizon = 0.0  # how far the run in progress goes
        self._moving = False  # whether the run in progress moves the clock (advance) or not (run_due)
        self.pushes = 0  # entries scheduled so far (a callback's window() is stale once this moves)
        # Called with the new earliest due time whenever it moves earlier, so a real-time driver can re-arm.
        self.on_earlier: Callable[[float], None] | None = None

    def __len__(self) -> int:
        """How many entries are pending (cancelled ones not counted)."""
        return len(self._heap) - self._cancelled_in_heap

    def call_at(self, when: float, callback: Callable[..., None], label: str = "", *args: Any) -> TimerHandle:
        """Run ``callback(*args)`` when the clock reaches ``when``; ``label`` (a template over ``args`` when
        there are any) names the entry."""
        heap = self._heap
        order = next(self._counter)
        handle = TimerHandle(when, callback, label, args, self, order)
        earlier = not heap or when < heap[0][0]
        heapq.heappush(heap, (when, order, handle))
        self.pushes += 1
        if earlier and self.on_earlier is not None:
            self.on_earlier(when)
        return handle

    def _cancelled(self) -> None:
        self._cancelled_in_heap += 1
        heap = self._heap
        if self._cancelled_in_heap >= self.COMPACT_MIN_CANCELLED and self._cancelled_in_heap * 2 > len(heap):
            # In place: a run in progress holds this very list.
            heap[:] = [entry for entry in heap if not entry[2].cancelled]
            heapq.heapify(heap)
            self._cancelled_in_heap = 0

    def postpone(self, handle: TimerHandle, when: float) -> None:
        """Move a pending entry to ``when``, no earlier than it was, without touching the heap: the entry stays
        where it was and is moved when it comes up. Re-setting a session before it expires (what a client that
        keeps its presence does all day) then costs no heap push and no cancelled entry. It runs exactly as a
        new entry made now would: at ``when``, after the entries already due then."""
        if when < handle.when:
            raise ValueError("postpone moves an entry later, not earlier")
        handle.when = when
        handle.order = next(self._counter)

    def _settle(self) -> None:
        """Drop cancelled entries from the top of the heap and move postponed ones to their place."""
        heap = self._heap
        while heap:
            when, _, handle = heap[0]
            if handle.cancelled:
                heapq.heappop(heap)
                self._cancelled_in_heap -= 1
            elif handle.when > when:
                heapq.heapreplace(heap, (handle.when, handle.order, handle))
            else:
                return

    def call_later(self, delay: float, callback: Callable[..., None], label: str = "", *args: Any) -> TimerHandle:
        return self.call_at(self.clock.time() + delay, callback, label, *args)

    def next_due(self) -> float | None:
        self._settle()
        heap = self._heap
        return heap[0][0] if heap else None

    def is_due(self, now: float) -> bool:
        """Whether an entry (perhaps a cancelled or postponed one) is due at ``now``: one comparison, for every
        request."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= now

    def pending(self) -> list[TimerHandle]:
        """Live entries in due order (for the control plane's timeline view)."""
        return sorted((h for _, _, h in self._heap if not h.cancelled), key=lambda h: (h.when, h.order))

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
        pop = heapq.heappop
        settle = self._settle
        try:
            settle()
            while heap and heap[0][0] <= target:
                when, _, handle = pop(heap)
                if move_clock:
                    clock._jump_to(when)
                handle.cancelled = True  # it has run: a later cancel() is a no-op and nothing to count
                try:
                    handle.callback(*handle.args)
                except Exception:  # one failing entry must not stop time for everything else
                    log.exception("scheduled callback %r failed", handle.label)
                handle.args = ()  # as cancel() does, and for the same reason
                ran += 1
                settle()  # the top is live and in its place again (a callback may have cancelled or moved it)
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
