"""Who is calling: the user and application a bearer token names (``Caller``).

Decoding only, with no verification: the auth modes that decide whether a request may proceed are in
``access.py``. Kept free of the runtime so the journal and the pipeline can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: str | None = None
    app_id: str | None = None
    tenant_id: str | None = None
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    # An app-only token (client credentials): it carries roles and names no user.
    application: bool = False


ANONYMOUS = Caller()
CALLER = web.RequestKey("caller", Caller)
_cache: dict[str, Caller] = {}
_CACHE_LIMIT = 1024


def bearer_token(header: str | None) -> str | None:
    if not header or header[:7].lower() != "bearer ":
        return None
    return header[7:].strip() or None


def caller_from_authorization(header: str | None) -> Caller:
    """The caller named by an ``Authorization: Bearer <jwt>`` header; anonymous when absent or unreadable."""
    token = bearer_token(header)
    if token is None:
        return ANONYMOUS
    cached = _cache.get(token)
    if cached is not None:
        return cached
    import jwt  # here, not at the top: serve's cold start skips PyJWT until a token arrives

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
    application = not scp and (bool(role_set) or claims.get("idtyp") == "app")
    user_id = None if application else text("oid")
    return Caller(
        user_id=user_id.lower() if user_id else None,
        app_id=text("appid") or text("azp"),
        tenant_id=text("tid"),
        scopes=frozenset(scp.split()),
        roles=role_set,
        application=application,
    )


def caller(request: web.Request) -> Caller:
    """The caller of ``request``: as the pipeline's auth check (``access.admit``) established it, else
    decoded from the header."""
    known: Caller | None = request.get(CALLER)
    if known is not None:
        return known
    return caller_from_authorization(request.headers.get("Authorization"))
