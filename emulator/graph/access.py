"""Whether a caller may: the auth modes and the check that applies them.

``TenantSettings.auth`` picks the mode (``serve --auth``):

- ``off`` (default): nothing is checked. The token, when there is one, is decoded without verification
  for what decisions.md says it names: the user behind ``/me`` (``oid``) and the application (``appid``).
- ``decode``: the same claims are read, still unverified, but an ``Authorization`` header that is not a
  readable bearer JWT is a 401.
- ``strict``: every Graph request needs a bearer token signed by the emulator's key (see
  ``emulator/tokens.py``), not expired on the emulated clock, for Graph's audience and this tenant (401
  otherwise), with a scope or role the endpoint's row in ``permissions.py`` grants (403 otherwise).

The check is ``admit``, which the pipeline (pipeline.py) calls before the handler of every Graph route. It
looks the matched route up in the permission table, so a route is covered by its table row, and each request
inside ``$batch`` is checked as it passes through the pipeline.
"""

from __future__ import annotations

from typing import get_args

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from emulator.graph import errors
from emulator.graph.auth import ANONYMOUS, CALLER, Caller, bearer_token, caller_from_authorization
from emulator.graph.permissions import Permission, permission_for
from emulator.presence.directory import PresenceError
from emulator.runtime import RUNTIME
from emulator.tenant import AuthMode, Tenant
from emulator.tokens import TokenRejected

AUTH_MODES: tuple[AuthMode, ...] = get_args(AuthMode)
GRAPH_PREFIXES = ("/v1.0/", "/beta/")


def _strict_caller(request: web.Request) -> Caller:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise errors.token_missing()
    tenant = request.app[RUNTIME].tenant
    try:
        tenant.tokens.verify(token, now=tenant.clock.time(), tenant_id=tenant.tenant_id)
    except TokenRejected as exc:
        raise errors.invalid_token(exc.message) from None
    return caller_from_authorization(f"Bearer {token}")  # the same claims, decoded once and cached


def _addresses_caller(request: web.Request, permission: Permission, who: Caller) -> bool:
    target = request.match_info.get(permission.target) if permission.target else None
    if target is None or who.user_id is None:
        return False
    if target.lower() == who.user_id:
        return True
    try:  # a scenario user may be addressed by userPrincipalName
        return request.app[RUNTIME].tenant.presence.resolve(target) == who.user_id
    except PresenceError:
        return False


def authorize(request: web.Request, permission: Permission, who: Caller) -> None:
    """Raise the 400/403 Graph answers when ``who`` may not call this endpoint."""
    if not permission.scoped:
        return
    if who.application:
        if permission.me:
            raise errors.me_without_user()
        if permission.application is None:
            raise errors.application_not_supported()
        if not who.roles & permission.application:
            raise errors.missing_roles(permission.application, who.roles)
        return
    granted = permission.delegated
    if permission.delegated_own and _addresses_caller(request, permission, who):
        granted = granted | permission.delegated_own
    if not who.scopes & granted:
        raise errors.missing_scopes(granted, who.scopes)


_by_route: dict[AbstractRoute, Permission | None] = {}


def _permission(route: AbstractRoute) -> Permission | None:
    """The table row of a matched route, looked up once per route (unmatched paths have none)."""
    if route.resource is None:
        return None
    if route not in _by_route:
        _by_route[route] = permission_for(route.method, route.resource.canonical)
    return _by_route[route]


def admit(request: web.Request, tenant: Tenant) -> None:
    """Establish the caller of a Graph request under the tenant's auth mode; raise the 401/403 Graph answers
    when it may not proceed. The pipeline calls it for Graph paths only: the control plane is never checked."""
    mode = tenant.settings.auth
    if mode == "off":
        # Set here too, though nothing is checked: a handler's look-up of an absent request key raises and
        # catches a KeyError inside aiohttp, which cost a presence read more than decoding the token here.
        request[CALLER] = caller_from_authorization(request.headers.get("Authorization"))
        return
    if mode == "decode":
        header = request.headers.get("Authorization")
        who = caller_from_authorization(header)
        if header is not None and who is ANONYMOUS:
            raise errors.invalid_token("Access token validation failure: the Authorization header is not "
                                       "a readable bearer JWT.")
        request[CALLER] = who
        return
    who = _strict_caller(request)
    request[CALLER] = who
    permission = _permission(request.match_info.route)
    if permission is not None:
        authorize(request, permission, who)
