"""``/subscriptions`` under ``/v1.0`` and ``/beta``: parse, call the subscription store, serialise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from emulator.clock import format_graph_datetime
from emulator.graph import errors, requests
from emulator.graph.auth import caller
from emulator.graph.pipeline import Routes, json_response, read_json_body
from emulator.runtime import RUNTIME
from emulator.subscriptions.model import (
    DEFAULT_CREATOR_ID,
    ExpirationOutOfRange,
    Subscription,
    SubscriptionConflict,
    SubscriptionError,
    SubscriptionNotFound,
)
from emulator.tenant import DEFAULT_APP_ID, Tenant

VERSIONS = ("v1.0", "beta")
Handler = Callable[[web.Request], Awaitable[web.Response]]


def subscription_dict(subscription: Subscription, *, hide_client_state: bool = False) -> dict[str, Any]:
    s = subscription
    return {
        "id": s.id,
        "resource": s.resource.text,
        "applicationId": s.application_id,
        "changeType": s.change_type,
        # "null for security purposes" in lists (subscription-list.md).
        "clientState": None if hide_client_state else s.client_state,
        "notificationUrl": s.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": s.lifecycle_notification_url,
        "expirationDateTime": format_graph_datetime(s.expires_at),
        "creatorId": s.creator_id,
        "includeResourceData": s.include_resource_data,
        "latestSupportedTlsVersion": s.latest_supported_tls_version,
        "encryptionCertificate": s.encryption_certificate,
        "encryptionCertificateId": s.encryption_certificate_id,
        "notificationUrlAppId": s.notification_url_app_id,
    }


@contextmanager
def graph_errors() -> Iterator[None]:
    """The store's rule violations as Graph errors."""
    try:
        yield
    except SubscriptionNotFound as exc:
        raise errors.subscription_not_found(exc.subscription_id) from None
    except SubscriptionConflict as exc:
        raise errors.subscription_conflict(str(exc)) from None
    except ExpirationOutOfRange as exc:
        raise errors.subscription_expiration(str(exc)) from None
    except SubscriptionError as exc:
        raise errors.subscription_invalid(str(exc)) from None


def parse_datetime(value: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise errors.invalid_argument(f"The property 'expirationDateTime' is invalid: '{value}' is not an ISO 8601 "
                                      "date-time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _entity(request: web.Request, version: str, subscription: Subscription, status: int = 200) -> web.Response:
    body = {"@odata.context": f"{_base(request, version)}/$metadata#subscriptions/$entity"}
    body.update(subscription_dict(subscription))
    return json_response(orjson.dumps(body), status)


def _base(request: web.Request, version: str) -> str:
    return f"{request.scheme}://{request.host}/{version}"


def _tenant(request: web.Request) -> Tenant:
    return request.app[RUNTIME].tenant


async def _validate(tenant: Tenant, subscription_id: str, *urls: str) -> None:
    """The handshake on each URL (twice when both are the same, as Graph does), concurrently."""
    results = await asyncio.gather(*(tenant.delivery.validate(url, subscription_id) for url in urls),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _create(version: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        tenant = _tenant(request)
        body = requests.parse_body(requests.SubscriptionBody, await read_json_body(request))
        who = caller(request)
        with graph_errors():
            draft = tenant.subscriptions.draft(
                resource=body.resource, change_type=body.changeType, notification_url=body.notificationUrl,
                expiration=parse_datetime(body.expirationDateTime),
                application_id=who.app_id or DEFAULT_APP_ID, creator_id=who.user_id or DEFAULT_CREATOR_ID,
                lifecycle_notification_url=body.lifecycleNotificationUrl, client_state=body.clientState,
                include_resource_data=bool(body.includeResourceData),
                encryption_certificate=body.encryptionCertificate,
                encryption_certificate_id=body.encryptionCertificateId,
                latest_supported_tls_version=body.latestSupportedTlsVersion,
                notification_url_app_id=body.notificationUrlAppId)
            urls = [draft.notification_url]
            if draft.lifecycle_notification_url is not None:
                urls.append(draft.lifecycle_notification_url)
            await _validate(tenant, draft.id, *urls)
            subscription = tenant.subscriptions.add(draft)
        return _entity(request, version, subscription, 201)
    return handler


def _list(version: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        who = caller(request)
        # Delegated: this app's subscriptions for the signed-in user; app-only or anonymous: this app's.
        found = _tenant(request).subscriptions.find(who.app_id or DEFAULT_APP_ID, who.user_id)
        body = {"@odata.context": f"{_base(request, version)}/$metadata#subscriptions",
                "value": [subscription_dict(s, hide_client_state=True) for s in found]}
        return json_response(orjson.dumps(body))
    return handler


def _get(version: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        with graph_errors():
            subscription = _tenant(request).subscriptions.get(request.match_info["id"])
        return _entity(request, version, subscription)
    return handler


def _update(version: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        tenant = _tenant(request)
        body = requests.parse_body(requests.SubscriptionUpdateBody, await read_json_body(request))
        if body.lifecycleNotificationUrl is not None:
            raise errors.subscription_invalid("lifecycleNotificationUrl can only be set when the subscription is "
                                              "created.")
        if body.expirationDateTime is None and body.notificationUrl is None and body.encryptionCertificate is None \
                and body.encryptionCertificateId is None:
            raise errors.invalid_argument("The update must set expirationDateTime and/or notificationUrl.")
        with graph_errors():
            store = tenant.subscriptions
            subscription = store.get(request.match_info["id"])
            expiration = None if body.expirationDateTime is None else parse_datetime(body.expirationDateTime)
            if expiration is not None:
                store.effective_expiry(expiration)  # refuse a bad expiry before any handshake
            new_url = body.notificationUrl
            if new_url is not None and new_url != subscription.notification_url:
                store.check_url(new_url, "notificationUrl")
                await _validate(tenant, subscription.id, new_url)
            subscription = store.update(subscription.id, expiration=expiration, notification_url=new_url,
                                        encryption_certificate=body.encryptionCertificate,
                                        encryption_certificate_id=body.encryptionCertificateId)
        return _entity(request, version, subscription)
    return handler


async def _delete(request: web.Request) -> web.Response:
    with graph_errors():
        _tenant(request).subscriptions.delete(request.match_info["id"])
    return web.Response(status=204)


async def _reauthorize(request: web.Request) -> web.Response:
    with graph_errors():
        _tenant(request).subscriptions.reauthorize(request.match_info["id"])
    return web.Response(status=204)


def add_routes(routes: Routes) -> None:
    for version in VERSIONS:
        prefix = f"/{version}/subscriptions"
        routes.add_post(prefix, _create(version))
        routes.add_get(prefix, _list(version), allow_head=False)
        routes.add_get(prefix + "/{id}", _get(version), allow_head=False)
        routes.add_patch(prefix + "/{id}", _update(version))
        routes.add_delete(prefix + "/{id}", _delete)
        routes.add_post(prefix + "/{id}/reauthorize", _reauthorize)

