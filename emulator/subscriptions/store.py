"""Subscriptions to presence: the documented rules, expiry and lifecycle cadence on the scheduler, and the
fan-out of every presence change to the subscriptions that watch the user.

No HTTP here. A create is two steps around the validation handshake, which is network I/O the wire layer
awaits: ``draft()`` checks every rule and builds the subscription, ``add()`` re-checks the conflict rule
(another create may have won meanwhile) and makes it live.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from typing import Any

from emulator.clock import Scheduler
from emulator.delivery.deliverer import Deliverer, Outgoing
from emulator.notifications import payloads
from emulator.notifications.crypto import CertificateError, load_certificate
from emulator.presence.directory import PresenceChange, PresenceDirectory
from emulator.subscriptions.model import (
    ExpirationOutOfRange,
    InvalidSubscription,
    Subscription,
    SubscriptionConflict,
    SubscriptionNotFound,
    parse_resource,
)
from emulator.subscriptions.settings import NotificationSettings

log = logging.getLogger(__name__)

# Change items built (and encrypted) per event-loop iteration.
FAN_OUT_SLICE = 100

TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")


class SubscriptionStore:
    def __init__(self, scheduler: Scheduler, presence: PresenceDirectory, deliverer: Deliverer, *,
                 tenant_id: str, settings: NotificationSettings) -> None:
        self.scheduler = scheduler
        self.clock = scheduler.clock
        self.presence = presence
        self.deliverer = deliverer
        self.tenant_id = tenant_id
        self.settings = settings
        # Changes' items still to build, in order, a slice per loop iteration (see _on_change).
        self._fan_queue: deque[tuple[str, Subscription, dict[str, Any]]] = deque()
        self._fan_scheduled = False
        deliverer.fan_out_pending = lambda: bool(self._fan_queue)
        self.subscriptions: dict[str, Subscription] = {}
        self._watchers: dict[str, dict[str, Subscription]] = {}  # user id -> subscriptions watching them
        # The two conflict rules' keys: (application, resource) and (application, creator).
        self._by_resource: dict[tuple[str, str], Subscription] = {}
        self._by_creator: dict[tuple[str, str], Subscription] = {}
        deliverer.is_live = self.subscriptions.__contains__
        presence.listeners.append(self._on_change)

    # -- rules -------------------------------------------------------------------------------------------

    def effective_expiry(self, requested: float) -> float:
        now = self.clock.time()
        if requested <= now:
            raise ExpirationOutOfRange("Subscription expiration cannot be in the past.")
        # A second's grace: a client computes "now + 60 minutes" on its own clock, a moment before we read ours.
        if requested - now > self.settings.max_lifetime_seconds + 1.0:
            raise ExpirationOutOfRange(
                f"Subscription expiration can only be {self.settings.max_lifetime_seconds / 60:g} minutes in the "
                "future for presence.")
        return max(requested, now + self.settings.min_lifetime_seconds)

    def check_url(self, url: str, name: str) -> str:
        parts = url.split("://", 1)
        scheme = parts[0].lower() if len(parts) == 2 else ""
        if scheme not in ("http", "https") or not parts[1] or parts[1].startswith("/"):
            raise InvalidSubscription(f"The {name} '{url}' is not an absolute http(s) URL.")
        if self.settings.require_https and scheme != "https":
            raise InvalidSubscription(f"The {name} must be an https URL: '{url}'.")
        return url

    def draft(self, *, resource: str, change_type: str, notification_url: str, expiration: float,
              application_id: str, creator_id: str, lifecycle_notification_url: str | None = None,
              client_state: str | None = None, include_resource_data: bool = False,
              encryption_certificate: str | None = None, encryption_certificate_id: str | None = None,
              latest_supported_tls_version: str | None = None,
              notification_url_app_id: str | None = None) -> Subscription:
        """A subscription that obeys every rule, not yet live (the handshake comes next)."""
        if change_type.strip().lower() != "updated":
            raise InvalidSubscription(f"The changeType '{change_type}' is not supported for presence; "
                                      "only 'updated' is.")
        watched = parse_resource(resource, self.settings.max_bulk_ids)
        for user_id in watched.user_ids:
            self.presence.resolve(user_id)  # a scenario that restricts users makes strangers a 404
        self.check_url(notification_url, "notificationUrl")
        if lifecycle_notification_url is not None:
            self.check_url(lifecycle_notification_url, "lifecycleNotificationUrl")
        if client_state is not None and len(client_state) > self.settings.max_client_state_length:
            raise InvalidSubscription(f"The clientState must be at most {self.settings.max_client_state_length} "
                                      f"characters; it has {len(client_state)}.")
        certificate = None
        if include_resource_data:
            if not encryption_certificate or not encryption_certificate_id:
                raise InvalidSubscription("A subscription with includeResourceData true requires "
                                          "encryptionCertificate and encryptionCertificateId.")
            if len(encryption_certificate_id) > 128:
                raise InvalidSubscription("The encryptionCertificateId must be at most 128 characters.")
            try:
                certificate = load_certificate(encryption_certificate)
            except CertificateError as exc:
                raise InvalidSubscription(f"{exc}.") from None
        tls = latest_supported_tls_version or "v1_2"
        if tls not in TLS_VERSIONS:
            raise InvalidSubscription(f"The latestSupportedTlsVersion '{tls}' is not one of {', '.join(TLS_VERSIONS)}.")
        subscription = Subscription(
            id=str(uuid.uuid4()), resource=watched, change_type="updated", notification_url=notification_url,
            lifecycle_notification_url=lifecycle_notification_url, expires_at=self.effective_expiry(expiration),
            application_id=application_id, creator_id=creator_id, client_state=client_state,
            include_resource_data=include_resource_data, encryption_certificate=encryption_certificate,
            encryption_certificate_id=encryption_certificate_id, certificate=certificate,
            latest_supported_tls_version=tls, notification_url_app_id=notification_url_app_id,
            created_at=self.clock.time())
        self._check_conflict(subscription)
        return subscription

    def _check_conflict(self, new: Subscription) -> None:
        existing = self._by_resource.get((new.application_id, new.resource.key))
        if existing is not None:
            raise SubscriptionConflict(f"Subscription Id {existing.id} already exists for the requested "
                                       "combination")
        if (new.application_id, new.creator_id) in self._by_creator:
            # The real service's words, typos included (msgraph-beta-sdk-dotnet#174).
            raise SubscriptionConflict("Operation: Create; Exception:[Status Code: Conflict; Reason: A "
                                       "subscripton already exists. It must be deleted before a another can "
                                       "be made.]")

    # -- lifetime ----------------------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> Subscription:
        self._check_conflict(subscription)
        # Time may have moved during the handshake; the clamp to at least 45 minutes still holds from now.
        subscription.expires_at = self.effective_expiry(subscription.expires_at)
        self.subscriptions[subscription.id] = subscription
        self._by_resource[(subscription.application_id, subscription.resource.key)] = subscription
        self._by_creator[(subscription.application_id, subscription.creator_id)] = subscription
        for user_id in subscription.resource.user_ids:
            self._watchers.setdefault(user_id, {})[subscription.id] = subscription
        self._arm(subscription)
        return subscription

    def get(self, subscription_id: str) -> Subscription:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise SubscriptionNotFound(subscription_id)
        return subscription

    def find(self, application_id: str | None = None, creator_id: str | None = None) -> list[Subscription]:
        return [s for s in self.subscriptions.values()
                if (application_id is None or s.application_id == application_id)
                and (creator_id is None or s.creator_id == creator_id)]

    def delete(self, subscription_id: str) -> Subscription:
        subscription = self.get(subscription_id)
        subscription.cancel_timers()
        del self.subscriptions[subscription_id]
        del self._by_resource[(subscription.application_id, subscription.resource.key)]
        del self._by_creator[(subscription.application_id, subscription.creator_id)]
        for user_id in subscription.resource.user_ids:
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.pop(subscription_id, None)
                if not watchers:
                    del self._watchers[user_id]
        return subscription

    def update(self, subscription_id: str, *, expiration: float | None = None, notification_url: str | None = None,
               encryption_certificate: str | None = None, encryption_certificate_id: str | None = None) -> Subscription:
        """Renew and/or move a live subscription (the new URL has passed its handshake). A renewal also
        reauthorizes it, restarting the lifecycle cadence."""
        subscription = self.get(subscription_id)
        new_expiry = None if expiration is None else self.effective_expiry(expiration)
        certificate = subscription.certificate
        if encryption_certificate is not None:
            try:
                certificate = load_certificate(encryption_certificate)
            except CertificateError as exc:
                raise InvalidSubscription(f"{exc}.") from None
        if notification_url is not None:
            self.check_url(notification_url, "notificationUrl")
            subscription.notification_url = notification_url
        if encryption_certificate is not None:
            subscription.encryption_certificate = encryption_certificate
            subscription.certificate = certificate
        if encryption_certificate_id is not None:
            subscription.encryption_certificate_id = encryption_certificate_id
        if new_expiry is not None:
            subscription.expires_at = new_expiry
        self._arm(subscription)
        return subscription

    def reauthorize(self, subscription_id: str) -> Subscription:
        subscription = self.get(subscription_id)
        self._arm(subscription)
        return subscription

    def _arm(self, subscription: Subscription) -> None:
        subscription.cancel_timers()
        subscription.expiry_timer = self.scheduler.call_at(
            subscription.expires_at, lambda: self._expire(subscription), f"subscription expiry {subscription.id}")
        self._arm_reauthorization(subscription, self.clock.time())

    def _arm_reauthorization(self, subscription: Subscription, after: float) -> None:
        due = after + self.settings.reauthorization_interval_seconds
        if due < subscription.expires_at:
            subscription.lifecycle_timer = self.scheduler.call_at(
                due, lambda: self._reauthorization_due(subscription), f"reauthorizationRequired {subscription.id}")

    def _reauthorization_due(self, subscription: Subscription) -> None:
        if self.subscriptions.get(subscription.id) is not subscription:
            return
        self.send_lifecycle(subscription.id, "reauthorizationRequired")
        self._arm_reauthorization(subscription, self.clock.time())

    def _expire(self, subscription: Subscription) -> None:
        if self.subscriptions.get(subscription.id) is subscription:
            self.delete(subscription.id)

    # -- lifecycle events --------------------------------------------------------------------------------

    def send_lifecycle(self, subscription_id: str, event: str, *, remove: bool | None = None) -> Subscription:
        """Send a lifecycle event (for tests, scenarios and the cadence). ``subscriptionRemoved`` also
        deletes the subscription unless ``remove`` is False."""
        if event not in payloads.LIFECYCLE_EVENTS:
            raise InvalidSubscription(f"The lifecycleEvent '{event}' is not one of "
                                      f"{', '.join(payloads.LIFECYCLE_EVENTS)}.")
        subscription = self.get(subscription_id)
        self.deliverer.enqueue(Outgoing(subscription.id, subscription.lifecycle_url,
                                        payloads.lifecycle_item(subscription, event, self.tenant_id),
                                        kind="lifecycle", app_id=subscription.application_id))
        if remove if remove is not None else event == "subscriptionRemoved":
            self.delete(subscription_id)
        return subscription

    def send_lifecycle_to_watchers(self, user_id: str, event: str) -> list[Subscription]:
        """A lifecycle event for every subscription watching a user (a scenario knows users, not the ids of
        the subscriptions a client under test will make)."""
        watchers = list(self._watchers.get(self.presence.resolve(user_id), {}).values())
        for subscription in watchers:
            if subscription.id in self.subscriptions:
                self.send_lifecycle(subscription.id, event)
        return watchers

    # -- change fan-out ----------------------------------------------------------------------------------

    def _on_change(self, change: PresenceChange) -> None:
        watchers = self._watchers.get(change.user.id)
        if not watchers:
            return
        # Who is told is decided now (a subscription may expire before the fan-out runs); building and
        # encrypting the items runs just after, so the API request that made the change is not held up, and
        # FAN_OUT_SLICE items per loop iteration, so a change watched by thousands holds up no other request.
        snapshot = payloads.presence_snapshot(change.user)
        self._fan_queue.extend((change.user.id, subscription, snapshot) for subscription in watchers.values())
        if self._fan_scheduled:
            return
        try:
            asyncio.get_running_loop().call_soon(self._fan_out)
            self._fan_scheduled = True
        except RuntimeError:  # no loop (a synchronous domain test): all at once
            while self._fan_queue:
                self._fan_out_slice()

    def _fan_out(self) -> None:
        self._fan_out_slice()
        if self._fan_queue:
            asyncio.get_running_loop().call_soon(self._fan_out)
        else:
            self._fan_scheduled = False

    def _fan_out_slice(self) -> None:
        enqueue = self.deliverer.enqueue
        queue = self._fan_queue
        for _ in range(min(FAN_OUT_SLICE, len(queue))):
            user_id, subscription, snapshot = queue.popleft()
            try:
                item, decrypted = payloads.change_item(subscription, user_id, snapshot, self.tenant_id)
            except Exception:  # one subscription's bad key must not cost the others their notification
                log.exception("could not build the notification for subscription %s", subscription.id)
                continue
            enqueue(Outgoing(subscription.id, subscription.notification_url, item, "notification", decrypted,
                             subscription.application_id))
