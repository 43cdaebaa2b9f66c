"""The emulator's own token authority: an RSA key, tokens signed with it, and their verification.

Tokens look like the Microsoft identity platform's v1 access tokens for Graph (``aud``, ``iss``, ``tid``,
``oid``, ``appid``, ``scp`` or ``roles``), signed RS256 with a key generated once per process, so tokens
minted before a ``/_emulator/reset`` still verify after it. Lifetimes are on the *emulated* clock: ``iat``,
``nbf`` and ``exp`` are emulated times and verification compares them with the emulated now, so a test
expires a token by advancing the clock. No aiohttp here: the wire layer turns ``TokenRejected`` into a 401.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

GRAPH_AUDIENCES = frozenset({"https://graph.microsoft.com", "https://graph.microsoft.com/",
                             "00000003-0000-0000-c000-000000000000"})
DEFAULT_AUDIENCE = "https://graph.microsoft.com"
DEFAULT_LIFETIME_SECONDS = 3600.0
MAX_LIFETIME_SECONDS = 366 * 86400.0
_VERIFIED_LIMIT = 4096


def issuer_for(tenant_id: str) -> str:
    """The issuer a v1 Graph token from ``tenant_id`` names."""
    return f"https://sts.windows.net/{tenant_id}/"


class TokenRejected(Exception):
    """A token strict auth does not accept; ``reason`` is one of ``malformed``, ``signature``, ``expired``,
    ``not_yet_valid``, ``audience``, ``tenant``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What a test asks ``POST /_emulator/token`` for. ``roles`` makes an application (app-only) token;
    otherwise it is a delegated token for ``oid`` with the scopes in ``scp``."""

    oid: str | None = None
    tid: str | None = None
    appid: str | None = None
    scp: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    lifetime_seconds: float = DEFAULT_LIFETIME_SECONDS
    audience: str = DEFAULT_AUDIENCE
    extra: Mapping[str, Any] | None = None


class TokenIssuer:
    """Signs and verifies the emulator's tokens with one RSA key (``kid`` = its public key's thumbprint)."""

    def __init__(self, key: rsa.RSAPrivateKey | None = None) -> None:
        # PyJWT and cryptography are imported here, not at the top: serve's cold start skips them until needed.
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self._key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = self._key.public_key()
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        # RFC 7638 thumbprint: stable for the key, so a client's JWKS cache is never confused.
        canonical = f'{{"e":"{jwk["e"]}","kty":"RSA","n":"{jwk["n"]}"}}'.encode()
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
        self._jwk = {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}
        self._public = public
        # Signature checks cost ~0.5 ms of RSA each: remember the claims of tokens already verified.
        self._verified: dict[str, dict[str, Any]] = {}

    _shared: TokenIssuer | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> TokenIssuer:
        """The process-wide issuer: generating an RSA key costs tens of milliseconds, and tokens should
        survive a reset."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        import jwt

        return jwt.encode(dict(claims), self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def mint(self, request: TokenRequest, *, tenant_id: str, default_app_id: str, now: float) -> str:
        """A signed token for ``request``, issued at emulated time ``now``."""
        tid = request.tid or tenant_id
        issued = int(now)
        claims: dict[str, Any] = {
            "aud": request.audience,
            "iss": issuer_for(tid),
            "iat": issued,
            "nbf": issued,
            "exp": int(now + request.lifetime_seconds),
            "tid": tid,
            "appid": request.appid or default_app_id,
            "appidacr": "1",
            "idtyp": "app" if request.roles else "user",
            "ver": "1.0",
            "uti": uuid.uuid4().hex[:22],
        }
        if request.oid:
            claims["oid"] = request.oid
            claims["sub"] = request.oid
        if request.roles:
            claims["roles"] = list(request.roles)
        else:
            claims["scp"] = " ".join(request.scp)
        if request.extra:
            claims.update(request.extra)
        return self.sign(claims)

    def claims_of(self, token: str) -> dict[str, Any]:
        """The claims of a token this issuer signed, without checking its lifetime."""
        return self._check_signature(token)

    def verify(self, token: str, *, now: float, tenant_id: str,
               audiences: AbstractSet[str] = GRAPH_AUDIENCES) -> dict[str, Any]:
        """The claims of ``token`` after checking its signature, its lifetime against the emulated ``now``,
        its audience and its tenant; ``TokenRejected`` otherwise."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._check_signature(token)
            if len(self._verified) >= _VERIFIED_LIMIT:
                self._verified.clear()
            self._verified[token] = claims
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise TokenRejected("malformed", "JWT is not well formed: the 'exp' claim is missing.")
        if now >= exp:
            raise TokenRejected("expired", "Lifetime validation failed, the token is expired.")
        if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now < nbf:
            raise TokenRejected("not_yet_valid", "Lifetime validation failed, the token is not yet valid.")
        if claims.get("aud") not in audiences:
            raise TokenRejected("audience", "Access token validation failure. Invalid audience.")
        if claims.get("tid") != tenant_id:
            raise TokenRejected("tenant", f"Access token validation failure. The token was issued for tenant "
                                          f"'{claims.get('tid')}', not '{tenant_id}'.")
        return claims

    def _check_signature(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed", f"JWT is not well formed: {exc}.") from None
        if header.get("alg") != "RS256":
            raise TokenRejected("signature", f"Signature validation failed: algorithm '{header.get('alg')}' "
                                             "is not accepted; tokens must be RS256.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._public, algorithms=["RS256"],
                # verify() checks the lifetime against the emulated clock, not the machine's.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise TokenRejected("signature", "Signature validation failed: the token was not signed by "
                                             "this emulator's key (see /_emulator/jwks).") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed", f"JWT is not well formed: {exc}.") from None
        return claims
