"""The items of a ``changeNotificationCollection`` for presence, basic or rich, and lifecycle items."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.clock import format_graph_datetime
from emulator.graph import wire
from emulator.notifications.crypto import encrypt_content
from emulator.presence.directory import User
from emulator.subscriptions.model import Subscription

PRESENCE_TYPE = "#microsoft.graph.presence"
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


def presence_snapshot(user: User) -> dict[str, Any]:
    """The full presence object as another user reads it: what a rich notification's content decrypts to."""
    body = {"@odata.id": f"users/{user.id}/presence", "@odata.type": PRESENCE_TYPE}
    body.update(wire.presence_dict(user, user.id, own=False))
    return body


def change_item(subscription: Subscription, user_id: str, snapshot: dict[str, Any],
                tenant_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One ``changeNotification`` and, for a rich subscription, the plaintext of its encryptedContent."""
    item: dict[str, Any] = {
        "subscriptionId": subscription.id,
        "clientState": subscription.client_state,
        "changeType": "updated",
        "tenantId": tenant_id,
        "resource": f"communications/presences/{user_id}",
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expires_at),
        "resourceData": {"@odata.id": f"users/{user_id}/presence", "@odata.type": PRESENCE_TYPE, "id": user_id},
        "organizationId": tenant_id,
    }
    if not subscription.include_resource_data or subscription.certificate is None:
        return item, None
    item["encryptedContent"] = encrypt_content(
        orjson.dumps(snapshot), subscription.certificate, subscription.encryption_certificate_id or "")
    return item, snapshot


def lifecycle_item(subscription: Subscription, event: str, tenant_id: str) -> dict[str, Any]:
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_graph_datetime(subscription.expires_at),
        "tenantId": tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }
