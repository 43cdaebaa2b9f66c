"""A loaded scenario and how it plays: its actions call the same domain operations as the Graph handlers,
and its events sit on the tenant's one scheduler.

``Scenario`` is what the loader produces: validated, merged and expanded into a plan, a list of occurrences
sorted by their offset from the start. ``ScenarioTimeline`` is the tenant's component that plays a plan: it
keeps one scheduler entry armed for the next occurrence (not one per occurrence, so that a 5,000-agent day
does not fill the heap) and records what ran.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import TYPE_CHECKING, Any

from emulator.clock import Scheduler, TimerHandle, format_graph_datetime, to_datetime
from emulator.presence.directory import PresenceDirectory, SessionNotFound, StatusExpiry

if TYPE_CHECKING:
    from emulator.subscriptions.store import SubscriptionStore
    from emulator.traffic.fault_rules import DeliveryFault, RequestFault

# How late (a real-time driver's wake-up) an occurrence must run for the timeline to show its own time.
LATE_SECONDS = 0.001

# One action bound to a tenant, called with a user id: a str result says why it was skipped, anything else
# (the domain call's own result) that it took effect.
Runner = Callable[[str], object]


class Action:
    """One timeline entry's effect, applied to each user it names at each of its times."""

    __slots__ = ("name", "where")

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        """Apply to one user, with the clock standing at the occurrence's time; a str says why it was skipped."""
        raise NotImplementedError

    def bind(self, timeline: ScenarioTimeline) -> Runner:
        """This action as a call on one tenant (what the timeline runs per occurrence)."""
        presence = timeline.presence
        return lambda user_id: self.apply(presence, user_id)

    def detail(self) -> dict[str, Any]:
        return {}


class SetSession(Action):
    """setPresence (an application: expiry PT5M unless given, idle fade) or a Teams client's session."""

    __slots__ = ("activity", "availability", "expires_in", "fades", "session_id", "source")

    def __init__(self, name: str, where: str, session_id: str, availability: str, activity: str, *,
                 expires_in: float | None, fades: bool, source: str) -> None:
        super().__init__(name, where)
        self.session_id = session_id
        self.availability = availability
        self.activity = activity
        self.expires_in = expires_in
        self.fades = fades
        self.source = source

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        return presence.set_session(user_id, self.session_id, self.availability, self.activity,
                                    expires_in=self.expires_in, fades=self.fades, source=self.source)

    def bind(self, timeline: ScenarioTimeline) -> Runner:
        # The bulk of a crowd's timeline: a partial (C code) spares a Python frame per occurrence.
        return partial(timeline.presence.set_session, session_id=self.session_id, availability=self.availability,
                       activity=self.activity, expires_in=self.expires_in, fades=self.fades, source=self.source)

    def detail(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "availability": self.availability, "activity": self.activity,
                "expiresInSeconds": self.expires_in, "idleFade": self.fades}


class ClearSession(Action):
    __slots__ = ("session_id",)

    def __init__(self, where: str, session_id: str) -> None:
        super().__init__("clearPresence", where)
        self.session_id = session_id

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        try:
            presence.clear_session(user_id, self.session_id)
        except SessionNotFound:  # it expired or was cleared before: nothing left to end
            return f"no session '{self.session_id}'"
        return None

    def detail(self) -> dict[str, Any]:
        return {"sessionId": self.session_id}


class SetPreferred(Action):
    __slots__ = ("activity", "availability", "expires_in")

    def __init__(self, where: str, availability: str, activity: str, expires_in: float | None) -> None:
        super().__init__("setUserPreferredPresence", where)
        self.availability = availability
        self.activity = activity
        self.expires_in = expires_in

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        return presence.set_preferred(user_id, self.availability, self.activity, expires_in=self.expires_in)

    def detail(self) -> dict[str, Any]:
        return {"availability": self.availability, "activity": self.activity,
                "expiresInSeconds": self.expires_in}


class ClearPreferred(Action):
    __slots__ = ()

    def __init__(self, where: str) -> None:
        super().__init__("clearUserPreferredPresence", where)

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        return presence.clear_preferred(user_id)


class SetStatusMessage(Action):
    """A status message; its expiry is either fixed (expiryDateTime) or relative to the event (expiresAfter)."""

    __slots__ = ("content", "expires_after", "expiry")

    def __init__(self, where: str, content: str | None, *, expiry: StatusExpiry | None,
                 expires_after: float | None) -> None:
        super().__init__("setStatusMessage", where)
        self.content = content
        self.expiry = expiry
        self.expires_after = expires_after

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        expiry = self.expiry
        if self.expires_after is not None:
            at = presence.clock.time() + self.expires_after
            expiry = StatusExpiry(at, to_datetime(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "UTC")
        return presence.set_status_message(user_id, self.content, expiry=expiry)

    def detail(self) -> dict[str, Any]:
        return {"content": self.content,
                "expiryDateTime": None if self.expiry is None else {
                    "dateTime": self.expiry.date_time, "timeZone": self.expiry.time_zone},
                "expiresAfterSeconds": self.expires_after}


class SetOutOfOffice(Action):
    __slots__ = ("is_out_of_office", "message")

    def __init__(self, where: str, is_out_of_office: bool, message: str | None) -> None:
        super().__init__("outOfOfficeSettings", where)
        self.is_out_of_office = is_out_of_office
        self.message = message

    def apply(self, presence: PresenceDirectory, user_id: str) -> object:
        return presence.set_out_of_office(user_id, self.is_out_of_office, self.message)

    def detail(self) -> dict[str, Any]:
        return {"isOutOfOffice": self.is_out_of_office, "message": self.message}


class SendLifecycle(Action):
    """A lifecycle notification to every subscription watching the user (the subscriptions' own rules:
    subscriptionRemoved deletes them). Skipped when no subscription watches the user."""

    __slots__ = ("event",)

    def __init__(self, where: str, event: str) -> None:
        super().__init__("lifecycleNotification", where)
        self.event = event

    def bind(self, timeline: ScenarioTimeline) -> Runner:
        subscriptions = timeline.subscriptions

        def send(user_id: str) -> object:
            if subscriptions is None:
                return "no subscriptions on this tenant"
            sent = subscriptions.send_lifecycle_to_watchers(user_id, self.event)
            return sent or "no subscription watches this user"
        return send

    def detail(self) -> dict[str, Any]:
        return {"lifecycleEvent": self.event}


@dataclass(frozen=True, slots=True)
class ScenarioUser:
    id: str
    user_principal_name: str | None
    display_name: str | None
    out_of_office: tuple[bool, str | None] | None


@dataclass(frozen=True, slots=True)
class Plan:
    """Every occurrence, sorted by offset: parallel arrays, so a big crowd costs little memory."""

    offsets: array[float]   # seconds after the start
    actions: array[int]     # index into Scenario.actions
    users: array[int]       # index into Scenario.users

    def __len__(self) -> int:
        return len(self.offsets)


@dataclass(frozen=True)
class Scenario:
    """One or more scenario files, validated, merged and expanded: ready to play on any tenant."""

    sources: tuple[str, ...]
    tenant_id: str | None
    clock_mode: str | None
    speed: float | None
    start: float | None
    restrict_users: bool
    users: tuple[ScenarioUser, ...]
    actions: tuple[Action, ...]
    plan: Plan
    # Fault rules installed on the tenant with the scenario (emulator/traffic; docs/faults-and-journal.md).
    faults: tuple[RequestFault | DeliveryFault, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "tenantId": self.tenant_id,
            "clock": {"start": None if self.start is None else format_graph_datetime(self.start),
                      "mode": self.clock_mode, "speed": self.speed},
            "restrictUsers": self.restrict_users,
            "users": len(self.users),
            "occurrences": len(self.plan),
            "faults": len(self.faults),
        }


class ScenarioTimeline:
    """A tenant's scenario player (``tenant.timeline``): empty until a scenario is played on it."""

    def __init__(self, scheduler: Scheduler, presence: PresenceDirectory,
                 subscriptions: SubscriptionStore | None = None) -> None:
        self.scheduler = scheduler
        self.presence = presence
        self.subscriptions = subscriptions
        self.scenario: Scenario | None = None
        self.start = 0.0
        self.cursor = 0
        self.late: dict[int, float] = {}  # when an occurrence ran later than due (a real-time clock's wake-up)
        self.skipped: dict[int, str] = {}
        self._timer: TimerHandle | None = None
        self._user_ids: tuple[str, ...] = ()
        self._runners: tuple[Runner, ...] = ()

    def play(self, scenario: Scenario) -> None:
        """Create the scenario's users and put its timeline on the scheduler from the clock's current time."""
        if self._timer is not None:
            self._timer.cancel()
        self.scenario = scenario
        self.start = self.scheduler.clock.time()
        self.cursor = 0
        self.late = {}
        self.skipped = {}
        presence = self.presence
        for user in scenario.users:
            presence.add_user(user.id, user.user_principal_name, user.display_name)
            if user.out_of_office is not None and user.out_of_office[0]:
                presence.set_out_of_office(user.id, *user.out_of_office)
        self._user_ids = tuple(user.id for user in scenario.users)
        self._runners = tuple(action.bind(self) for action in scenario.actions)
        # Occurrences due at the start wait on the scheduler like any other entry, so that hooks that run
        # after this one on a new tenant (listeners) see them too; use_scenario, a request or advance runs them.
        self._arm()

    def _arm(self) -> None:
        scenario = self.scenario
        if scenario is None or self.cursor >= len(scenario.plan.offsets):
            self._timer = None
            return
        self._timer = self.scheduler.call_at(self.start + scenario.plan.offsets[self.cursor], self._run_due,
                                             "scenario timeline")

    def _run_due(self) -> None:
        """Run the occurrences that are due, in order, each with the clock standing at its time. Those that
        fall before anything else on the scheduler run here in one go rather than one heap entry each."""
        scenario = self.scenario
        assert scenario is not None
        scheduler = self.scheduler
        now = scheduler.clock.time()
        horizon, barrier = scheduler.window()
        pushes = scheduler.pushes
        move_to = scheduler.move_to
        plan = scenario.plan
        offsets, action_of, user_of = plan.offsets, plan.actions, plan.users
        runners, user_ids, start = self._runners, self._user_ids, self.start
        late, skipped = self.late, self.skipped
        i, end = self.cursor, len(offsets)
        try:
            while i < end:
                due = start + offsets[i]
                if due > now:
                    if scheduler.pushes != pushes:  # an action scheduled something: it may come first
                        horizon, barrier = scheduler.window()
                        pushes = scheduler.pushes
                    if due > horizon or due >= barrier:
                        break
                    move_to(due)
                    now = due
                elif due < now - LATE_SECONDS:  # a real-time clock woke up well after the due time
                    late[i] = now
                note = runners[action_of[i]](user_ids[user_of[i]])
                if type(note) is str:
                    skipped[i] = note
                i += 1
        finally:
            self.cursor = i
            self._arm()

    # -- the control plane's view ---------------------------------------------------------------------------

    def entry(self, index: int) -> dict[str, Any]:
        scenario = self.scenario
        assert scenario is not None
        plan = scenario.plan
        action = scenario.actions[plan.actions[index]]
        user = scenario.users[plan.users[index]]
        ran = index < self.cursor
        item: dict[str, Any] = {
            "index": index,
            "dateTime": format_graph_datetime(self.late.get(index, self.start + plan.offsets[index])),
            "offsetSeconds": plan.offsets[index],
            "user": user.id,
            "userPrincipalName": user.user_principal_name,
            "action": action.name,
            **action.detail(),
            "source": action.where,
        }
        if ran:
            item["outcome"] = "skipped: " + self.skipped[index] if index in self.skipped else "applied"
        return item

    def describe(self, limit: int) -> dict[str, Any]:
        scenario = self.scenario
        if scenario is None:
            return {"scenario": None, "ran": {"count": 0, "items": []}, "upcoming": {"count": 0, "items": []}}
        total = len(scenario.plan)
        first_ran = max(0, self.cursor - limit)
        return {
            "scenario": scenario.describe(),
            "startDateTime": format_graph_datetime(self.start),
            "now": format_graph_datetime(self.scheduler.clock.time()),
            "ran": {"count": self.cursor, "items": [self.entry(i) for i in range(first_ran, self.cursor)]},
            "upcoming": {"count": total - self.cursor,
                         "items": [self.entry(i) for i in range(self.cursor, min(total, self.cursor + limit))]},
            "scheduled": [{"dateTime": format_graph_datetime(h.when), "label": h.label}
                          for h in self.scheduler.pending()[:limit] if h.label != "scenario timeline"],
        }

