"""The token authority on its own: signing, and each reason verification refuses a token."""

from __future__ import annotations

import jwt
import pytest

from emulator.tokens import TokenIssuer, TokenRejected, TokenRequest

TENANT = "00000000-0000-4000-8000-000000000001"
NOW = 1_790_000_000.0


def mint(issuer: TokenIssuer, **kw: object) -> str:
    request = TokenRequest(oid="u", scp=("Presence.Read",), **kw)  # type: ignore[arg-type]
    return issuer.mint(request, tenant_id=TENANT, default_app_id="app", now=NOW)


def reason(issuer: TokenIssuer, token: str, now: float = NOW) -> str:
    with pytest.raises(TokenRejected) as rejected:
        issuer.verify(token, now=now, tenant_id=TENANT)
    return rejected.value.reason


def test_lifetime_is_checked_against_the_given_emulated_now() -> None:
    issuer = TokenIssuer.shared()
    token = mint(issuer, lifetime_seconds=60)
    assert issuer.verify(token, now=NOW + 59, tenant_id=TENANT)["oid"] == "u"
    assert reason(issuer, token, now=NOW + 60) == "expired"
    assert reason(issuer, token, now=NOW - 1) == "not_yet_valid"
    # The cache of verified signatures does not skip the lifetime check.
    assert issuer.verify(token, now=NOW, tenant_id=TENANT)["exp"] == int(NOW) + 60


def test_each_rejection_reason() -> None:
    issuer = TokenIssuer.shared()
    claims = issuer.claims_of(mint(issuer))
    assert reason(issuer, "garbage") == "malformed"
    assert reason(issuer, TokenIssuer().sign(claims)) == "signature"
    assert reason(issuer, jwt.encode(claims, "k" * 32, algorithm="HS256")) == "signature"
    assert reason(issuer, jwt.encode(claims, None, algorithm="none")) == "signature"
    assert reason(issuer, issuer.sign({k: v for k, v in claims.items() if k != "exp"})) == "malformed"
    assert reason(issuer, mint(issuer, audience="api://other")) == "audience"
    assert reason(issuer, mint(issuer, tid="another-tenant")) == "tenant"


def test_jwks_names_the_signing_key() -> None:
    issuer = TokenIssuer()
    (key,) = issuer.jwks()["keys"]
    token = issuer.sign({"a": 1})
    assert jwt.get_unverified_header(token)["kid"] == key["kid"] == issuer.kid
    assert jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"]) == {"a": 1}
