"""The state root: one tenant's clock, scheduler, users and everything built on them.

A test makes its own ``Tenant``; the aiohttp app holds one and replaces it on reset, so a reset can never
leave a stale piece of state behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from emulator.clock import Clock, ClockMode, Scheduler
from emulator.delivery.deliverer import Deliverer
from emulator.presence.directory import PresenceDirectory
from emulator.scenarios.timeline import ScenarioTimeline
from emulator.subscriptions.settings import NotificationSettings
from emulator.subscriptions.store import SubscriptionStore
from emulator.traffic.delivery_faults import fault_interceptor
from emulator.traffic.gate import Gate
from emulator.traffic.journal import DEFAULT_JOURNAL, Journal, JournalSettings
from emulator.traffic.throttle import OFF, ThrottleSettings

if TYPE_CHECKING:
    from emulator.tokens import TokenIssuer

DEFAULT_TENANT_ID = "00000000-0000-4000-8000-000000000001"
# The application named when a request carries no token that names one.
DEFAULT_APP_ID = "00000000-0000-4000-8000-00000000a99c"

# off: tokens only decoded for oid/appid; decode: unreadable tokens are 401; strict: verified and scoped.
AuthMode = Literal["off", "decode", "strict"]


@dataclass(frozen=True)
class TenantSettings:
    tenant_id: str = DEFAULT_TENANT_ID
    clock_mode: ClockMode = "real"
    speed: float = 1.0
    # Emulated start time as POSIX seconds; None starts at the real current time.
    start: float | None = None
    # Only listed users exist (a scenario's choice); otherwise any GUID is a user who never signed in.
    restrict_users: bool = False
    # Throttling (off unless ``serve --throttle``) and the request journal (docs/faults-and-journal.md).
    throttle: ThrottleSettings = OFF
    journal: JournalSettings = DEFAULT_JOURNAL
    auth: AuthMode = "off"
    # Subscriptions and webhook delivery (deadlines, retries, strict https); see docs/notifications.md.
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    @property
    def require_https_notification_urls(self) -> bool:
        """Strict auth requires https notification URLs, as the real service does (decisions.md)."""
        return self.auth == "strict"


class Tenant:
    """Everything the emulator knows, driven by one clock."""

    def __init__(self, settings: TenantSettings | None = None) -> None:
        self.settings = settings or TenantSettings()
        self.tenant_id = self.settings.tenant_id
        self.clock = Clock(self.settings.clock_mode, start=self.settings.start, speed=self.settings.speed)
        self.scheduler = Scheduler(self.clock)
        self.presence = PresenceDirectory(self.scheduler, restrict_users=self.settings.restrict_users)
        self.journal = Journal(self.settings.journal, default_app_id=DEFAULT_APP_ID)
        self.gate = Gate(self.clock, self.journal, self.settings.throttle)
        self.timeline = ScenarioTimeline(self.scheduler, self.presence)
        # Strict auth also requires https notification URLs; the webhook deliverer gets its HTTP transport
        # from the runtime (emulator/delivery/attach.py).
        notifications = self.settings.notifications
        if self.settings.require_https_notification_urls and not notifications.require_https:
            notifications = replace(notifications, require_https=True)
        self.delivery = Deliverer(self.scheduler, notifications, self.tenant_id)
        self.delivery.interceptors.append(fault_interceptor(self))  # delivery fault rules (emulator/traffic)
        self.subscriptions = SubscriptionStore(self.scheduler, self.presence, self.delivery,
                                               tenant_id=self.tenant_id, settings=notifications)
        self.timeline.subscriptions = self.subscriptions  # for lifecycleNotification events

    @property
    def tokens(self) -> TokenIssuer:
        # Made on first use: its RSA key and the JWT library cost a cold start more than the rest of the app.
        from emulator.tokens import TokenIssuer

        return TokenIssuer.shared()

    def advance(self, seconds: float) -> int:
        """Move the clock forward, running every timed effect that falls due on the way."""
        return self.scheduler.advance(seconds)
