"""Rich-notification encryption and validation tokens, exactly as Microsoft documents them.

``encryptedContent`` (change-notifications-with-resource-data.md, the forward direction of its decryption
steps): a fresh 32-byte key per item; AES-256-CBC with PKCS7 padding and IV = the key's first 16 bytes;
``dataSignature`` = HMAC-SHA256 of the ciphertext under the same key; ``dataKey`` = the key wrapped with RSA-OAEP
(SHA-1, MGF1-SHA1) under the subscriber's certificate; the thumbprint is the certificate's SHA-1 in uppercase hex.

``validationTokens`` are JWTs signed with the emulator's own RSA key (Microsoft's keys are not ours to use);
its public half is served as a JWKS (``GET /_emulator/jwks``) so a receiver under test can be pointed at it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emulator.tokens import TokenIssuer

# The Graph change-notification publisher named in every validation token (spec §4.6).
PUBLISHER_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
TOKEN_LIFETIME_SECONDS = 3600.0
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096


class CertificateError(ValueError):
    """The subscription's encryptionCertificate is not a usable base64 X.509 certificate."""


@dataclass(frozen=True)
class EncryptionCertificate:
    public_key: rsa.RSAPublicKey
    thumbprint: str


def load_certificate(encoded: str) -> EncryptionCertificate:
    """Parse ``encryptionCertificate`` (base64 DER, as Graph takes it; a PEM is also accepted)."""
    text = encoded.strip()
    try:
        if text.startswith("-----BEGIN"):
            cert = x509.load_pem_x509_certificate(text.encode())
        else:
            cert = x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        raise CertificateError("encryptionCertificate is not a base64-encoded X.509 certificate") from None
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CertificateError("encryptionCertificate must carry an RSA public key")
    if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise CertificateError(f"encryptionCertificate's RSA key must be {MIN_RSA_BITS}-{MAX_RSA_BITS} bits")
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()
    return EncryptionCertificate(key, thumbprint)


def encrypt_content(plaintext: bytes, certificate: EncryptionCertificate, certificate_id: str) -> dict[str, str]:
    """One item's ``encryptedContent``."""
    key = os.urandom(32)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    signature = hmac.new(key, ciphertext, hashlib.sha256).digest()
    wrapped = certificate.public_key.encrypt(
        key, OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    return {
        "data": base64.b64encode(ciphertext).decode(),
        "dataSignature": base64.b64encode(signature).decode(),
        "dataKey": base64.b64encode(wrapped).decode(),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": certificate.thumbprint,
    }


class TokenSigner:
    """Signs validation tokens with the emulator's one key (``emulator/tokens.py``), whose public half
    ``GET /_emulator/jwks`` serves, so a receiver under test validates them like any token of the emulator."""

    def __init__(self, sign: Callable[[Mapping[str, Any]], str]) -> None:
        self._sign = sign
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}

    def validation_token(self, app_id: str, tenant_id: str, now: float | None = None) -> str:
        """A token for one app + tenant pair, with the claims of spec §4.6. Reused while it has more than
        three quarters of its life left, as signing costs a millisecond."""
        issued = time.time() if now is None else now
        cached = self._cache.get((app_id, tenant_id))
        if cached is not None and 0 <= issued - cached[0] < TOKEN_LIFETIME_SECONDS / 4:
            return cached[1]
        claims = {
            "aud": app_id,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(issued),
            "nbf": int(issued),
            "exp": int(issued + TOKEN_LIFETIME_SECONDS),
            "aio": base64.b64encode(os.urandom(24)).decode(),
            "appid": PUBLISHER_APP_ID,
            "appidacr": "2",
            "idp": f"https://sts.windows.net/{tenant_id}/",
            "tid": tenant_id,
            "uti": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "ver": "1.0",
        }
        token = self._sign(claims)
        self._cache[(app_id, tenant_id)] = (issued, token)
        return token


@cache
def emulator_signer() -> TokenSigner:
    """One per process, over the process's one key, so tokens and the JWKS survive resets."""
    # The key is looked up at the first signature, not here: making it (RSA) would slow every cold start.
    return TokenSigner(lambda claims: TokenIssuer.shared().sign(claims))
