"""The dashboard's live feed: changes in the current tenant, coalesced into server-sent events.

Every change to a user (from the Graph API, the control plane, a scenario or an expiry on the scheduler) marks
the user dirty through ``PresenceDirectory.observers``. Shortly after the first mark, one ``users`` event
carries the state of every user marked since, so a burst (a scenario changing thousands of users at once) is
one message, serialised once for every open page. The clock needs no event of its own while it runs as
expected: each event carries its mode, speed and time, and the page extrapolates. A mode change, a speed
change or a jump (an advance) is spotted by a light check and sent as a ``clock`` event. A reset sends a
fresh ``snapshot``.

Waits here are real seconds (how soon a page sees a change), never emulated time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import orjson

from emulator.control.routes import clock_state
from emulator.presence.directory import Session, User
from emulator.runtime import Runtime
from emulator.tenant import Tenant

# How long a burst of changes may gather before it goes out; well inside the one second a page may lag.
FLUSH_DELAY = 0.05
# How often the clock is checked for a change of mode or speed or a jump, while any page is open.
CLOCK_CHECK_INTERVAL = 0.2
# A page that falls this far behind (bytes not yet written) is sent a fresh snapshot instead of the backlog.
MAX_BACKLOG_BYTES = 16 * 1024 * 1024


def sse(event: str, payload: bytes) -> bytes:
    """One server-sent event; the JSON payload has no newlines, so it is one ``data:`` line."""
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


def clock_payload(tenant: Tenant) -> dict[str, Any]:
    state = clock_state(tenant)
    # Milliseconds since the epoch, so the page need not parse Graph's seven fractional digits to count down.
    state["epochMs"] = tenant.clock.time() * 1000.0
    return state


def _ms(ts: float | None) -> float | None:
    return None if ts is None else ts * 1000.0


def _session_view(s: Session) -> dict[str, Any]:
    shown = s.shown()
    return {"sessionId": s.session_id, "source": s.source, "availability": s.availability,
            "activity": s.activity, "shownAvailability": shown[0], "shownActivity": shown[1],
            "expiresMs": _ms(s.expires_at), "nextMs": _ms(s.next_transition())}


def user_view(user: User) -> dict[str, Any]:
    """What a card shows of a user: ``/_emulator/state``'s content, with instants as epoch milliseconds.
    Numbers, not Graph's date strings: a 5,000-user snapshot is then quick to build, send and read."""
    message = user.status_message
    preferred = user.preferred
    return {
        "id": user.id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
        "availability": user.availability,
        "activity": user.activity,
        "sessions": [_session_view(s) for s in user.sessions.values()],
        "preferredPresence": None if preferred is None else {
            "availability": preferred.availability, "activity": preferred.activity,
            "expiresMs": _ms(preferred.expires_at)},
        "statusMessage": None if message is None else {
            "content": message.content, "expiresMs": None if message.expiry is None else _ms(message.expiry.at)},
        "outOfOfficeSettings": {"isOutOfOffice": user.out_of_office[0], "message": user.out_of_office[1]},
    }


class Viewer:
    """One open page: what is waiting to be written to it."""

    def __init__(self) -> None:
        self.backlog: deque[bytes] = deque()
        self.backlog_bytes = 0
        self.needs_snapshot = True
        self.closed = False
        self.wake = asyncio.Event()

    def push(self, message: bytes) -> None:
        if self.needs_snapshot:
            return  # the snapshot it is about to get already holds this
        if self.backlog_bytes + len(message) > MAX_BACKLOG_BYTES:
            self.resync()
            return
        self.backlog.append(message)
        self.backlog_bytes += len(message)
        self.wake.set()

    def resync(self) -> None:
        self.backlog.clear()
        self.backlog_bytes = 0
        self.needs_snapshot = True
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    def take(self) -> list[bytes]:
        messages = list(self.backlog)
        self.backlog.clear()
        self.backlog_bytes = 0
        self.wake.clear()
        return messages


class DashboardFeed:
    """Watches whichever tenant the runtime holds (``runtime.install`` re-attaches it after every reset)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.viewers: set[Viewer] = set()
        self._dirty: dict[str, User] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._clock_task: asyncio.Task[None] | None = None
        # What the pages were last told of the clock: (mode, speed, emulated time, real monotonic time then).
        self._clock_sent: tuple[str, float, float, float] | None = None
        self.events_sent = 0
        runtime.install(self.attach)

    @property
    def tenant(self) -> Tenant:
        return self.runtime.tenant

    def attach(self, tenant: Tenant) -> None:
        tenant.presence.observers.append(self._observe)
        self._dirty.clear()
        for viewer in self.viewers:
            viewer.resync()

    # -- viewers -----------------------------------------------------------------------------------------

    def open(self) -> Viewer:
        viewer = Viewer()
        self.viewers.add(viewer)
        if self._clock_task is None:
            self._clock_task = asyncio.get_running_loop().create_task(self._watch_clock())
        return viewer

    def close(self, viewer: Viewer) -> None:
        viewer.close()
        self.viewers.discard(viewer)
        if not self.viewers:
            self._dirty.clear()
            if self._clock_task is not None:
                self._clock_task.cancel()
                self._clock_task = None

    def close_all(self) -> None:
        for viewer in list(self.viewers):
            self.close(viewer)

    def snapshot(self) -> bytes:
        tenant = self.tenant
        self._note_clock_sent()
        payload = orjson.dumps({
            "tenantId": tenant.tenant_id,
            "clock": clock_payload(tenant),
            "users": [user_view(u) for u in tenant.presence.users.values()],
        })
        self.events_sent += 1
        return sse("snapshot", payload)

    # -- changes -----------------------------------------------------------------------------------------

    def _observe(self, user: User) -> None:
        if not self.viewers:
            return  # nobody is watching; a page that opens gets a snapshot
        self._dirty[user.id] = user
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        if not self._dirty:
            return
        users = list(self._dirty.values())
        self._dirty.clear()
        self._broadcast("users", {"clock": self._clock_now(), "users": [user_view(u) for u in users]})

    def _broadcast(self, event: str, payload: dict[str, Any]) -> None:
        message = sse(event, orjson.dumps(payload))
        self.events_sent += 1
        for viewer in self.viewers:
            viewer.push(message)

    def _clock_now(self) -> dict[str, Any]:
        self._note_clock_sent()
        return clock_payload(self.tenant)

    def _note_clock_sent(self) -> None:
        clock = self.tenant.clock
        self._clock_sent = (clock.mode, clock.speed, clock.time(), time.monotonic())

    def clock_moved(self) -> bool:
        """Whether the clock's mode, speed or time differ from what the pages were last told."""
        sent = self._clock_sent
        clock = self.tenant.clock
        if sent is None:
            return True
        mode, speed, at, real = sent
        if clock.mode != mode or clock.speed != speed:
            return True
        expected = at + (time.monotonic() - real) * speed
        return abs(clock.time() - expected) > 0.01

    async def _watch_clock(self) -> None:
        while True:
            await asyncio.sleep(CLOCK_CHECK_INTERVAL)
            if self.viewers and self.clock_moved():
                self._broadcast("clock", self._clock_now())

    async def stop(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        task = self._clock_task
        self.close_all()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
