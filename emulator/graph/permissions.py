"""Which scopes (delegated ``scp``) and roles (application ``roles``) each Graph endpoint needs in strict auth.

One table, from the permission tables of the spec (graph-presence-spec.md §1 and §4.1), keyed by method and
route template with the version prefix dropped and every ``{placeholder}`` written ``{}``, so it does not
matter what a route module names its parameters. A route that lands later (subscriptions, say) is covered
by adding its rows here; ``tests/graph/test_permissions.py`` fails while any Graph route has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

READ = "Presence.Read"
READ_ALL = "Presence.Read.All"
READ_WRITE = "Presence.ReadWrite"
READ_WRITE_ALL = "Presence.ReadWrite.All"

_VERSION = re.compile(r"^/(?:v1\.0|beta)(?=/)")
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Permission:
    """What grants access to one endpoint. Any one listed scope or role is enough.

    ``delegated_own``: further scopes that grant access when the user the route addresses (match parameter
    ``target``) is the caller, as the docs' "own presence needs Presence.Read" says. ``application`` None:
    application tokens are not supported (403). ``me``: the route is under ``/me``, which an application
    token cannot use at all (400, decisions.md "Users"). ``scoped`` False: any valid token will do."""

    delegated: frozenset[str] = frozenset()
    application: frozenset[str] | None = frozenset()
    delegated_own: frozenset[str] = frozenset()
    target: str | None = None
    me: bool = False
    scoped: bool = True


def route_key(method: str, template: str) -> str:
    """``GET /v1.0/users/{id}/presence`` -> ``GET /users/{}/presence``."""
    return f"{method.upper()} {_PLACEHOLDER.sub('{}', _VERSION.sub('', template))}"


_READ_ONE = Permission(delegated=frozenset({READ_ALL}), delegated_own=frozenset({READ}), target="id",
                       application=frozenset({READ_ALL, READ_WRITE_ALL}))
_READ_ME = Permission(delegated=frozenset({READ, READ_ALL}), application=None, me=True)
_READ_MANY = Permission(delegated=frozenset({READ_ALL}), application=frozenset({READ_ALL, READ_WRITE_ALL}))
_WRITE = Permission(delegated=frozenset({READ_WRITE}), application=frozenset({READ_WRITE_ALL}))
_WRITE_ME = Permission(delegated=frozenset({READ_WRITE}), application=None, me=True)
# Presence subscriptions: delegated Presence.Read.All only; "Application is not supported" (§4.1), on
# create, update, delete, get and reauthorize alike.
_SUBSCRIPTION = Permission(delegated=frozenset({READ_ALL}), application=None)
_AUTHENTICATED = Permission(scoped=False)

ACTION_NAMES = ("setPresence", "clearPresence", "setUserPreferredPresence", "clearUserPreferredPresence",
                "setStatusMessage")

PERMISSIONS: dict[str, Permission] = {
    "GET /users/{}/presence": _READ_ONE,
    "GET /communications/presences/{}": _READ_ONE,
    "GET /me/presence": _READ_ME,
    "POST /communications/getPresencesByUserId": _READ_MANY,
    **{f"POST /users/{{}}/presence/{name}": _WRITE for name in ACTION_NAMES},
    **{f"POST /communications/presences/{{}}/{name}": _WRITE for name in ACTION_NAMES},
    **{f"POST /me/presence/{name}": _WRITE_ME for name in ACTION_NAMES},
    "POST /subscriptions": _SUBSCRIPTION,
    "GET /subscriptions": _SUBSCRIPTION,
    "GET /subscriptions/{}": _SUBSCRIPTION,
    "PATCH /subscriptions/{}": _SUBSCRIPTION,
    "DELETE /subscriptions/{}": _SUBSCRIPTION,
    "POST /subscriptions/{}/reauthorize": _SUBSCRIPTION,
    # The batch itself needs only a valid token; each request inside it is checked on its own.
    "POST /$batch": _AUTHENTICATED,
}


def permission_for(method: str, template: str) -> Permission | None:
    return PERMISSIONS.get(route_key(method, template))
