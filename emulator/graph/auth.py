"""Who is calling: the user and application a bearer token names.

In the default mode the token is decoded, not verified (../shared/decisions.md, "Users"): a test can send
any JWT whose ``oid`` names the user behind ``/me``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str | None = None
    app_id: str | None = None
    tenant_id: str | None = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()


ANONYMOUS = Caller()
_cache: dict[str, Caller] = {}
_CACHE_LIMIT = 1024


def caller_from_authorization(header: str | None) -> Caller:
    """The caller named by an ``Authorization: Bearer <jwt>`` header; anonymous when absent or unreadable."""
    if not header or header[:7].lower() != "bearer ":
        return ANONYMOUS
    token = header[7:].strip()
    cached = _cache.get(token)
    if cached is not None:
        return cached
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return ANONYMOUS
    caller = caller_from_claims(claims)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[token] = caller
    return caller


def caller_from_claims(claims: dict[str, object]) -> Caller:
    def text(name: str) -> str | None:
        value = claims.get(name)
        return value if isinstance(value, str) and value else None

    scp = text("scp") or ""
    roles = claims.get("roles")
    role_set = frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()
    # An app-only token carries roles and an oid of the service principal but no scp: it names no user.
    user_id = text("oid") if scp or not role_set else None
    return Caller(
        user_id=user_id.lower() if user_id else None,
        app_id=text("appid") or text("azp"),
        tenant_id=text("tid"),
        scopes=frozenset(scp.split()),
        roles=role_set,
    )
