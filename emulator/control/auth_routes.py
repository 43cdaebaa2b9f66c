"""Control-plane endpoints of the emulator's token authority: mint a token, publish the signing key.

``POST /_emulator/token`` answers like an OAuth token endpoint (``access_token``, ``token_type``,
``expires_in``), plus the claims it signed, so a test can read back what it asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from emulator.clock import format_graph_datetime
from emulator.graph import errors, requests
from emulator.graph.pipeline import Routes, json_response
from emulator.runtime import RUNTIME
from emulator.tenant import DEFAULT_APP_ID
from emulator.tokens import MAX_LIFETIME_SECONDS, TokenRequest, issuer_for

if TYPE_CHECKING:
    from emulator.control.bodies import TokenBody

PREFIX = "/_emulator"


def token_request(body: TokenBody) -> TokenRequest:
    scopes = tuple(body.scp.split() if isinstance(body.scp, str) else body.scp or ())
    roles = tuple(body.roles or ())
    if roles and scopes:
        raise errors.invalid_argument("A token carries either 'scp' (delegated) or 'roles' (application), "
                                      "not both.")
    if not roles and not body.oid:
        raise errors.invalid_argument("A delegated token names its user: give 'oid' (or 'roles' for an "
                                      "application token).")
    try:
        seconds = requests.parse_iso_duration(body.lifetime)
    except ValueError as exc:
        raise errors.invalid_argument(f"The property 'lifetime' is invalid: {exc}.") from None
    if not 0 < seconds <= MAX_LIFETIME_SECONDS:
        raise errors.invalid_argument("The property 'lifetime' must be more than zero and at most P366D.")
    return TokenRequest(oid=body.oid, tid=body.tid, appid=body.appid, scp=scopes, roles=roles,
                        lifetime_seconds=seconds, audience=body.aud)


async def mint_token(request: web.Request) -> web.Response:
    from emulator.control import bodies  # pydantic, on first use

    body = requests.parse_body(bodies.TokenBody, await request.read())
    wanted = token_request(body)
    tenant = request.app[RUNTIME].tenant
    now = tenant.clock.time()
    token = tenant.tokens.mint(wanted, tenant_id=tenant.tenant_id, default_app_id=DEFAULT_APP_ID, now=now)
    claims = tenant.tokens.claims_of(token)
    return json_response(orjson.dumps({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": round(claims["exp"] - now),
        "expires_on": claims["exp"],
        "expirationDateTime": format_graph_datetime(claims["exp"]),
        "claims": claims,
    }))


async def jwks(request: web.Request) -> web.Response:
    return json_response(orjson.dumps(request.app[RUNTIME].tenant.tokens.jwks()))


async def openid_configuration(request: web.Request) -> web.Response:
    """Enough discovery metadata for a token validator to find the key and the issuer."""
    tenant = request.app[RUNTIME].tenant
    base = f"{request.scheme}://{request.host}{PREFIX}"
    return json_response(orjson.dumps({
        "issuer": issuer_for(tenant.tenant_id),
        "jwks_uri": f"{base}/jwks",
        "token_endpoint": f"{base}/token",
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["pairwise"],
    }))


def add_routes(routes: Routes) -> None:
    routes.add_post(f"{PREFIX}/token", mint_token)
    routes.add_get(f"{PREFIX}/jwks", jwks)
    routes.add_get(f"{PREFIX}/.well-known/openid-configuration", openid_configuration)
