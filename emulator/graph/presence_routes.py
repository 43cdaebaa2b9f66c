"""Graph presence endpoints under ``/v1.0`` and ``/beta``: parse, call the domain, serialise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from emulator.graph import errors, requests, wire
from emulator.graph.auth import caller
from emulator.graph.pipeline import Routes, json_response, read_json_body
from emulator.presence import states
from emulator.presence.directory import UnknownUser, User
from emulator.runtime import RUNTIME
from emulator.tenant import Tenant

VERSIONS = ("v1.0", "beta")
MAX_IDS = 650

# The three ways a user's presence is addressed; each yields (user reference, route kind).
USER_PATH = "/users/{id}/presence"
ME_PATH = "/me/presence"
COMMUNICATIONS_PATH = "/communications/presences/{id}"


def _base(request: web.Request, version: str) -> str:
    return f"{request.scheme}://{request.host}/{version}"


def _me(request: web.Request) -> str:
    user_id = caller(request).user_id
    if user_id is None:
        raise errors.me_without_user()
    return user_id


# -- reads -----------------------------------------------------------------------------------------------

def _presence_response(request: web.Request, tenant: Tenant, user_ref: str, context: str | None,
                       version: str) -> web.Response:
    directory = tenant.presence
    user_id = directory.resolve(user_ref)
    user = directory.users.get(user_id)
    own = caller(request).user_id == user_id
    ctx = context or wire.user_presence_context(_base(request, version), user_id)
    return json_response(wire.presence_document(user, user_id, own=own, context=ctx))


def _get_user(version: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        tenant = request.app[RUNTIME].tenant
        return _presence_response(request, tenant, request.match_info["id"], None, version)
    return handler


def _get_me(version: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        tenant = request.app[RUNTIME].tenant
        return _presence_response(request, tenant, _me(request), None, version)
    return handler


def _get_communications(version: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        tenant = request.app[RUNTIME].tenant
        context = wire.communications_presence_context(_base(request, version))
        return _presence_response(request, tenant, request.match_info["id"], context, version)
    return handler


def _cached_for_others(read_cache: dict[str, bytes], user: User) -> bytes:
    body = read_cache[user.id] = wire.presence_bytes(user, user.id, own=False)
    return body


def _get_presences_by_user_id(version: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        tenant = request.app[RUNTIME].tenant
        body = requests.parse_body(requests.GetPresencesBody, await read_json_body(request))
        if not body.ids:
            raise errors.invalid_argument("The property 'ids' must contain at least one user id.")
        if len(body.ids) > MAX_IDS:
            raise errors.invalid_argument(
                f"The property 'ids' has {len(body.ids)} ids; at most {MAX_IDS} are allowed.")
        directory = tenant.presence
        users = directory.users
        context = orjson.dumps(wire.presence_collection_context(_base(request, version)))
        head = b'{"@odata.context":' + context + b',"value":['
        read_cache = directory.read_cache
        # The usual case: every id a known user's canonical id, every body cached. Then one tight comprehension
        # does it (dict.fromkeys drops repeats, keeping the order); anything else takes the loop below.
        try:
            cached = [read_cache[ref] for ref in dict.fromkeys(body.ids)]
        except KeyError:
            pass
        else:
            return json_response(head + b",".join(cached) + b"]}")
        parts = [head]
        seen: set[str] = set()
        for ref in body.ids:
            if ref in seen:
                continue
            user = users.get(ref)
            if user is not None:
                seen.add(ref)
                parts.append(_cached_for_others(read_cache, user))
                parts.append(b",")
                continue
            try:
                key = directory.resolve(ref)
                item = None
            except UnknownUser:  # users restricted to a scenario's list: answered, not failed
                key = ref.lower()
                item = orjson.dumps(wire.presence_dict(None, key, own=False, unknown=True))
            if key not in seen:
                seen.add(key)
                known = users.get(key)
                parts.append(item or (_cached_for_others(read_cache, known) if known is not None
                                      else wire.presence_bytes(None, key, own=False)))
                parts.append(b",")
        parts[-1] = b"]}"  # in place of the last comma (ids is never empty here)
        return json_response(b"".join(parts))
    return handler


# -- actions ---------------------------------------------------------------------------------------------

Target = Callable[[web.Request], str]
Action = Callable[[Tenant, str, bytes], None]


def _set_presence(tenant: Tenant, user_ref: str, raw: bytes) -> None:
    body = requests.parse_body(requests.SetPresenceBody, raw)
    availability, activity = requests.pair(body.availability, body.activity, states.SET_PRESENCE_PAIRS,
                                           "setPresence")
    seconds = requests.session_duration(body.expirationDuration)
    if not body.sessionId:
        raise errors.invalid_argument("The property 'sessionId' must not be empty.")
    tenant.presence.set_session(user_ref, body.sessionId, availability, activity, expires_in=seconds)


def _clear_presence(tenant: Tenant, user_ref: str, raw: bytes) -> None:
    body = requests.parse_body(requests.ClearPresenceBody, raw)
    tenant.presence.clear_session(user_ref, body.sessionId)


def _set_preferred(tenant: Tenant, user_ref: str, raw: bytes) -> None:
    body = requests.parse_body(requests.SetPreferredBody, raw)
    availability, activity = requests.pair(body.availability, body.activity, states.PREFERRED_PAIRS,
                                           "setUserPreferredPresence")
    seconds = requests.preferred_duration(body.expirationDuration)
    tenant.presence.set_preferred(user_ref, availability, activity, expires_in=seconds)


def _clear_preferred(tenant: Tenant, user_ref: str, raw: bytes) -> None:
    requests.parse_body(requests.EmptyBody, raw)
    tenant.presence.clear_preferred(user_ref)


def _set_status_message(tenant: Tenant, user_ref: str, raw: bytes) -> None:
    body = requests.parse_body(requests.SetStatusMessageBody, raw)
    content, expiry = requests.status_message(body, tenant.clock.time())
    tenant.presence.set_status_message(user_ref, content, expiry=expiry)


ACTIONS: dict[str, Action] = {
    "setPresence": _set_presence,
    "clearPresence": _clear_presence,
    "setUserPreferredPresence": _set_preferred,
    "clearUserPreferredPresence": _clear_preferred,
    "setStatusMessage": _set_status_message,
}


def _action_handler(action: Action, target: Target) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        tenant = request.app[RUNTIME].tenant
        # A bad or unknown user is reported before the body; the action gets the canonical id.
        user_id = tenant.presence.resolve(target(request))
        action(tenant, user_id, await read_json_body(request))
        return web.Response(status=200)
    return handler


def add_routes(routes: Routes) -> None:
    by_id: Target = lambda request: request.match_info["id"]  # noqa: E731
    for version in VERSIONS:
        prefix = f"/{version}"
        routes.add_get(prefix + USER_PATH, _get_user(version), allow_head=False)
        routes.add_get(prefix + ME_PATH, _get_me(version), allow_head=False)
        routes.add_get(prefix + COMMUNICATIONS_PATH, _get_communications(version), allow_head=False)
        routes.add_post(prefix + "/communications/getPresencesByUserId", _get_presences_by_user_id(version))
        for name, action in ACTIONS.items():
            routes.add_post(f"{prefix}{USER_PATH}/{name}", _action_handler(action, by_id))
            routes.add_post(f"{prefix}{ME_PATH}/{name}", _action_handler(action, _me))
            routes.add_post(f"{prefix}{COMMUNICATIONS_PATH}/{name}", _action_handler(action, by_id))
