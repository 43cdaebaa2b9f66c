"""Users, their presence sessions, and how those aggregate into the presence that Graph shows.

This module knows nothing of HTTP. The Graph handlers, scenario timelines and the control plane all call the
same operations here; every timed effect (session expiry, idle fade, preferred-presence and status-message
expiry) is an entry on the shared scheduler, and every visible change is published as a ``PresenceChange``
to whoever listens (webhooks, the dashboard).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from emulator.clock import Scheduler, TimerHandle
from emulator.presence import states

log = logging.getLogger(__name__)


class PresenceError(Exception):
    """A domain rule was broken; the wire layer turns each subclass into its Graph error."""


class MalformedUserId(PresenceError):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"'{user_id}' is not a valid user id")
        self.user_id = user_id


class UnknownUser(PresenceError):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"user '{user_id}' does not exist")
        self.user_id = user_id


class SessionNotFound(PresenceError):
    def __init__(self, user_id: str, session_id: str) -> None:
        super().__init__(f"user '{user_id}' has no presence session '{session_id}'")
        self.user_id = user_id
        self.session_id = session_id


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: str) -> bool:
    return _GUID.match(value) is not None


class Session:
    """One presence session: a Teams client on a device, or an application's setPresence session."""

    __slots__ = ("activity", "availability", "expires_at", "fades", "session_id", "set_at", "set_order",
                 "source", "stage", "timer")

    def __init__(self, session_id: str, availability: str, activity: str, set_at: float,
                 expires_at: float | None, fades: bool, source: str, set_order: int = 0) -> None:
        self.session_id = session_id
        self.availability = availability
        self.activity = activity
        self.set_at = set_at
        # Which set came last; on a manual clock several sets share one instant, so set_at cannot tell.
        self.set_order = set_order
        self.expires_at = expires_at
        self.fades = fades and availability == "Available"
        self.source = source
        self.stage = 0  # 0 as set, 1 AvailableInactive, 2 Away (only for fading Available sessions)
        self.timer: TimerHandle | None = None

    def shown(self) -> tuple[str, str]:
        if self.stage == 0:
            return self.availability, self.activity
        if self.stage == 1:
            return "Available", "AvailableInactive"
        return "Away", "Away"

    def next_transition(self) -> float | None:
        """When this session next changes by itself: its next fade stage or its expiry."""
        fade: float | None = None
        if self.fades and self.stage < 2:
            fade = self.set_at + (states.FADE_TO_INACTIVE_SECONDS if self.stage == 0
                                  else states.FADE_TO_AWAY_SECONDS)
        if fade is None:
            return self.expires_at
        if self.expires_at is None:
            return fade
        return min(fade, self.expires_at)


class Preferred:
    __slots__ = ("activity", "availability", "expires_at", "set_at", "timer")

    def __init__(self, availability: str, activity: str, set_at: float, expires_at: float | None) -> None:
        self.availability = availability
        self.activity = activity
        self.set_at = set_at
        self.expires_at = expires_at
        self.timer: TimerHandle | None = None


@dataclass(frozen=True, slots=True)
class StatusExpiry:
    """A status message's expiry: the instant, and the dateTime/timeZone as the caller gave them."""

    at: float
    date_time: str
    time_zone: str


class StatusMessage:
    __slots__ = ("content", "content_type", "expiry", "published_at", "timer")

    def __init__(self, content: str, content_type: str, expiry: StatusExpiry | None, published_at: float) -> None:
        self.content = content
        self.content_type = content_type
        self.expiry = expiry
        self.published_at = published_at
        self.timer: TimerHandle | None = None


class User:
    """A user and everything that makes up their presence."""

    __slots__ = ("activity", "availability", "display_name", "id", "out_of_office", "preferred",
                 "sequence_number", "sessions", "status_message", "upn", "wire_cache")

    def __init__(self, user_id: str, upn: str | None = None, display_name: str | None = None) -> None:
        self.id = user_id
        self.upn = upn
        self.display_name = display_name
        self.sessions: dict[str, Session] = {}
        self.preferred: Preferred | None = None
        self.status_message: StatusMessage | None = None
        self.out_of_office: tuple[bool, str | None] = (False, None)
        self.availability, self.activity = states.OFFLINE
        self.sequence_number = ""
        # Serialised bodies kept by the wire layer, under keys of its choosing; cleared on every change.
        self.wire_cache: dict[object, bytes] = {}


class PresenceChange(NamedTuple):
    """A visible change of one user's presence (a tuple: one is made per change, and a frozen dataclass
    cost a setPresence 3%)."""

    user: User
    at: float
    sequence_number: str
    previous: tuple[str, str]
    # Which parts changed: any of "presence", "statusMessage", "outOfOfficeSettings".
    parts: frozenset[str] = frozenset()


def aggregate(user: User) -> tuple[str, str]:
    """The availability/activity a user shows, from their sessions, preferred presence and out of office."""
    if not user.sessions:
        pair = states.OFFLINE
    elif user.preferred is not None:
        pair = (user.preferred.availability, user.preferred.activity)
    elif len(user.sessions) == 1:  # the usual case: nothing to rank
        pair = next(iter(user.sessions.values())).shown()
    else:
        best: Session | None = None
        best_rank = -1
        for session in user.sessions.values():
            availability = session.shown()[0]
            rank = states.RANK.get(availability, 0)
            # Among equal ranks, the most recently set session supplies the activity.
            if rank > best_rank or (rank == best_rank and best is not None and session.set_order > best.set_order):
                best, best_rank = session, rank
        assert best is not None
        pair = best.shown()
    if user.out_of_office[0] and pair[1] in ("Available", "Away", "Offline"):
        # Teams shows an out-of-office user as "<availability> / OutOfOffice" (presence-admins.md table).
        pair = (pair[0], "OutOfOffice")
    return pair


Listener = Callable[[PresenceChange], None]
# Told of every change to a user's record, visible or not (a new user, a session behind a busier one, a renewal).
Observer = Callable[[User], None]


class PresenceDirectory:
    """Every user's presence, and the operations that change it."""

    def __init__(self, scheduler: Scheduler, *, restrict_users: bool = False) -> None:
        self.scheduler = scheduler
        self.clock = scheduler.clock
        self.restrict_users = restrict_users
        self.users: dict[str, User] = {}
        self._by_upn: dict[str, str] = {}
        self._set_order = itertools.count(1)
        # Per directory, so that a replayed scenario gives the same numbers; a reset carries it forward
        # (see ``Runtime.reset``) so that a server never hands out a number below one it already gave.
        self.last_sequence = 0
        # Each user's presence as others read it, serialised by the wire layer, by user id; an entry goes with
        # every visible change. One look-up per id: a 650-id read is bound by memory, and reaching the bytes
        # through the user and its wire_cache cost three times the look-ups.
        self.read_cache: dict[str, bytes] = {}
        self.listeners: list[Listener] = []
        # The dashboard shows sessions and expiries, which change without the presence Graph shows changing.
        self.observers: list[Observer] = []
        # The timers' callbacks, bound once: a timer per session then holds no object of its own beyond its
        # arguments (fewer long-lived objects also means cheaper garbage collections).
        self._on_session_due = self._session_due
        self._on_preferred_due = self._preferred_due
        self._on_status_due = self._status_due

    # -- users -------------------------------------------------------------------------------------------

    def add_user(self, user_id: str, upn: str | None = None, display_name: str | None = None) -> User:
        if not is_guid(user_id):
            raise MalformedUserId(user_id)
        key = user_id.lower()
        user = self.users.get(key)
        if user is None:
            user = User(key, upn, display_name)
            user.sequence_number = self._next_sequence()
            self.users[key] = user
        else:
            user.upn = upn or user.upn
            user.display_name = display_name or user.display_name
        if upn:
            self._by_upn[upn.lower()] = key
        if self.observers:
            self._observe(user)
        return user

    def resolve(self, user_ref: str) -> str:
        """A user's canonical id from a GUID or a known userPrincipalName; raises if neither."""
        key = user_ref.lower()
        if key in self.users:
            return key
        by_upn = self._by_upn.get(key)
        if by_upn is not None:
            return by_upn
        if not is_guid(user_ref):
            raise MalformedUserId(user_ref)
        if self.restrict_users:
            raise UnknownUser(user_ref)
        return key

    def find(self, user_ref: str) -> User | None:
        """The user, or None for a valid id that has never had presence (reads as Offline)."""
        return self.users.get(self.resolve(user_ref))

    def _user_for_change(self, user_ref: str) -> User:
        key = self.resolve(user_ref)
        user = self.users.get(key)
        if user is None:
            user = self.add_user(key)
        return user

    def _next_sequence(self) -> str:
        self.last_sequence += 1
        return f"A{self.last_sequence:010d}"

    # -- sessions ----------------------------------------------------------------------------------------

    def set_session(self, user_ref: str, session_id: str, availability: str, activity: str, *,
                    expires_in: float | None, fades: bool = True, source: str = "application") -> User:
        """Create or replace a session; this restarts its expiry and its idle fade."""
        user = self._user_for_change(user_ref)
        now = self.clock.time()
        old = user.sessions.get(session_id)
        session = Session(session_id, availability, activity, now,
                          None if expires_in is None else now + expires_in, fades, source, next(self._set_order))
        user.sessions[session_id] = session
        timer = old.timer if old is not None else None
        due = session.next_transition()
        if timer is not None and not timer.cancelled and due is not None and due >= timer.when:
            # The usual re-set, before the old session's next change: its entry moves to the new session.
            assert old is not None
            old.timer = None
            timer.args = (user, session)
            session.timer = timer
            self.scheduler.postpone(timer, due)
        else:
            if timer is not None:
                timer.cancel()
            self._arm_session(user, session)
        self._publish(user)
        return user

    def clear_session(self, user_ref: str, session_id: str) -> User:
        key = self.resolve(user_ref)
        user = self.users.get(key)
        session = user.sessions.get(session_id) if user is not None else None
        if user is None or session is None:
            raise SessionNotFound(key, session_id)
        self._drop_session(user, session)
        self._publish(user)
        return user

    def _drop_session(self, user: User, session: Session) -> None:
        if session.timer is not None:
            session.timer.cancel()
        del user.sessions[session.session_id]

    def _arm_session(self, user: User, session: Session) -> None:
        due = session.next_transition()
        if due is not None:
            session.timer = self.scheduler.call_at(
                due, self._on_session_due, "session {0.id}/{1.session_id}", user, session)

    def _session_due(self, user: User, session: Session) -> None:
        if user.sessions.get(session.session_id) is not session:
            return
        now = self.clock.time()
        if session.expires_at is not None and session.expires_at <= now:
            self._drop_session(user, session)
        else:
            session.stage += 1
            self._arm_session(user, session)
        self._publish(user)

    # -- preferred presence ------------------------------------------------------------------------------

    def set_preferred(self, user_ref: str, availability: str, activity: str, *,
                      expires_in: float | None) -> User:
        user = self._user_for_change(user_ref)
        now = self.clock.time()
        if user.preferred is not None and user.preferred.timer is not None:
            user.preferred.timer.cancel()
        if expires_in is None:
            expires_in = states.preferred_default_seconds(availability)
        preferred = Preferred(availability, activity, now, now + expires_in)
        preferred.timer = self.scheduler.call_at(
            now + expires_in, self._on_preferred_due, "preferred {0.id}", user, preferred)
        user.preferred = preferred
        self._publish(user)
        return user

    def clear_preferred(self, user_ref: str) -> User | None:
        key = self.resolve(user_ref)
        user = self.users.get(key)
        if user is None or user.preferred is None:
            return user
        if user.preferred.timer is not None:
            user.preferred.timer.cancel()
        user.preferred = None
        self._publish(user)
        return user

    def _preferred_due(self, user: User, preferred: Preferred) -> None:
        if user.preferred is preferred:
            user.preferred = None
            self._publish(user)

    # -- status message and out of office ----------------------------------------------------------------

    def set_status_message(self, user_ref: str, content: str | None, *, content_type: str = "text",
                           expiry: StatusExpiry | None = None) -> User:
        """Set the status message; an empty or missing content clears it."""
        user = self._user_for_change(user_ref)
        old = user.status_message
        if old is not None and old.timer is not None:
            old.timer.cancel()
        if not content:
            user.status_message = None
            self._publish(user, "statusMessage" if old is not None else None)
            return user
        message = StatusMessage(content, content_type, expiry, self.clock.time())
        if expiry is not None:
            message.timer = self.scheduler.call_at(
                expiry.at, self._on_status_due, "statusMessage {0.id}", user, message)
        user.status_message = message
        self._publish(user, "statusMessage")
        return user

    def _status_due(self, user: User, message: StatusMessage) -> None:
        if user.status_message is message:
            user.status_message = None
            self._publish(user, "statusMessage")

    def set_out_of_office(self, user_ref: str, is_out_of_office: bool, message: str | None = None) -> User:
        user = self._user_for_change(user_ref)
        new = (is_out_of_office, message)
        if new != user.out_of_office:
            user.out_of_office = new
            self._publish(user, "outOfOfficeSettings")
        return user

    # -- change publication ------------------------------------------------------------------------------

    def _observe(self, user: User) -> None:
        for observer in list(self.observers):
            try:
                observer(user)
            except Exception:  # as with listeners: watching must never break a change
                log.exception("presence observer %r failed", observer)

    def _publish(self, user: User, part: str | None = None) -> None:
        previous = (user.availability, user.activity)
        current = aggregate(user)
        moved = current != previous
        if moved:
            user.availability, user.activity = current
        if self.observers:
            self._observe(user)
        if not moved and part is None:
            return
        user.sequence_number = self._next_sequence()
        user.wire_cache.clear()
        self.read_cache.pop(user.id, None)
        if self.listeners:
            change = PresenceChange(user, self.clock.time(), user.sequence_number, previous,
                                    _changed_parts(moved, part))
            for listener in list(self.listeners):
                try:
                    listener(change)
                except Exception:  # a broken observer must not undo or block a presence change
                    log.exception("presence listener %r failed", listener)


@functools.cache
def _changed_parts(presence_moved: bool, part: str | None) -> frozenset[str]:
    """The ``parts`` of a change, one shared frozenset per combination rather than a new set per change."""
    return frozenset((["presence"] if presence_moved else []) + ([part] if part is not None else []))
