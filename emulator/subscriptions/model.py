"""The subscription resource, the presence resources one may watch, and the rules that refuse a request."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from emulator.clock import TimerHandle
from emulator.notifications.crypto import EncryptionCertificate
from emulator.presence.directory import is_guid

SINGLE_PREFIX = "communications/presences/"
BULK_PATTERN = re.compile(r"^communications/presences\?\$filter=id\s+in\s*\((?P<ids>.*)\)\s*$", re.IGNORECASE)
QUOTED = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)")\s*(?:,|$)""")


class SubscriptionError(Exception):
    """A subscription rule was broken; the wire layer maps each subclass to its Graph error."""


class InvalidSubscription(SubscriptionError):
    """400: the request breaks a documented rule."""


class ExpirationOutOfRange(InvalidSubscription):
    """400: expirationDateTime in the past or beyond the presence maximum."""


class ValidationFailed(InvalidSubscription):
    """400: the notification URL did not answer the validation handshake."""


class SubscriptionConflict(SubscriptionError):
    """409: this user (or resource) already has a subscription from this application."""


class SubscriptionNotFound(SubscriptionError):
    """404: no such subscription (never existed, deleted or expired)."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription '{subscription_id}' does not exist")
        self.subscription_id = subscription_id


@dataclass(frozen=True)
class PresenceResource:
    """What a subscription watches: one user, or up to 650 in a bulk filter."""

    text: str
    user_ids: tuple[str, ...]
    bulk: bool

    @property
    def key(self) -> str:
        """Identity for the duplicate rule: the same users watched the same way."""
        return ("bulk:" if self.bulk else "one:") + ",".join(sorted(self.user_ids))


def parse_resource(text: str, max_bulk_ids: int) -> PresenceResource:
    """``communications/presences/{id}`` or ``/communications/presences?$filter=id in ('…', …)``."""
    raw = unquote(text.strip())
    path = raw.lstrip("/")
    match = BULK_PATTERN.match(path)
    if match is not None:
        ids = _quoted_ids(match.group("ids"))
        if not ids:
            raise InvalidSubscription(f"The resource '{text}' has no user ids in its $filter.")
        if len(ids) > max_bulk_ids:
            raise InvalidSubscription(
                f"The resource '{text[:80]}…' lists {len(ids)} user ids; at most {max_bulk_ids} are allowed.")
        bad = [i for i in ids if not is_guid(i)]
        if bad:
            raise InvalidSubscription(f"The resource lists '{bad[0]}', which is not a user id (GUID).")
        unique = tuple(dict.fromkeys(i.lower() for i in ids))
        return PresenceResource(text, unique, bulk=True)
    if path.lower().startswith(SINGLE_PREFIX):
        user_id = path[len(SINGLE_PREFIX):]
        if is_guid(user_id):
            return PresenceResource(text, (user_id.lower(),), bulk=False)
    raise InvalidSubscription(
        f"The resource '{text}' is not supported. Use 'communications/presences/{{id}}' or "
        "\"/communications/presences?$filter=id in ('{id}', …)\".")


def _quoted_ids(inner: str) -> list[str]:
    ids: list[str] = []
    pos = 0
    inner = inner.strip()
    while pos < len(inner):
        match = QUOTED.match(inner, pos)
        if match is None or match.end() == pos:
            raise InvalidSubscription(f"The $filter 'id in ({inner[:80]})' is not a list of quoted user ids.")
        ids.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return ids


@dataclass(eq=False)
class Subscription:
    id: str
    resource: PresenceResource
    change_type: str
    notification_url: str
    lifecycle_notification_url: str | None
    expires_at: float
    application_id: str
    creator_id: str
    client_state: str | None
    include_resource_data: bool
    encryption_certificate: str | None
    encryption_certificate_id: str | None
    certificate: EncryptionCertificate | None
    latest_supported_tls_version: str
    notification_url_app_id: str | None
    created_at: float
    expiry_timer: TimerHandle | None = field(default=None, repr=False)
    lifecycle_timer: TimerHandle | None = field(default=None, repr=False)

    @property
    def lifecycle_url(self) -> str:
        return self.lifecycle_notification_url or self.notification_url

    def cancel_timers(self) -> None:
        for timer in (self.expiry_timer, self.lifecycle_timer):
            if timer is not None:
                timer.cancel()
        self.expiry_timer = self.lifecycle_timer = None


# The creator named when a request carries no token that names a user.
DEFAULT_CREATOR_ID = "00000000-0000-4000-8000-00000000c0de"
