"""Certificate parsing and token claims of emulator/notifications/crypto.py."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from emulator.notifications.crypto import CertificateError, TokenSigner, load_certificate
from emulator.tokens import TokenIssuer


def certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))


def test_certificates() -> None:
    cert = certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    assert load_certificate(der).thumbprint == load_certificate(pem).thumbprint
    assert load_certificate(der).thumbprint == cert.fingerprint(hashes.SHA1()).hex().upper()
    with pytest.raises(CertificateError, match="RSA"):
        ec_cert = certificate(ec.generate_private_key(ec.SECP256R1()))
        load_certificate(base64.b64encode(ec_cert.public_bytes(serialization.Encoding.DER)).decode())
    small = certificate(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(CertificateError, match="2048"):
        load_certificate(base64.b64encode(small.public_bytes(serialization.Encoding.DER)).decode())
    with pytest.raises(CertificateError):
        load_certificate("%%% not base64")


def test_token_claims_on_either_clock() -> None:
    issuer = TokenIssuer()
    signer = TokenSigner(issuer.sign)
    key = jwt.PyJWKSet.from_dict(issuer.jwks()).keys[0].key
    token = signer.validation_token("app", "tid", now=1_000.0)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="app", options={"verify_exp": False,
                                                                                   "verify_iat": False,
                                                                                   "verify_nbf": False})
    assert (claims["iat"], claims["exp"], claims["iss"], claims["ver"]) == (1000, 4600, "https://sts.windows.net/tid/",
                                                                          "1.0")
    assert signer.validation_token("app", "tid", now=1_100.0) == token  # reused while fresh
    assert signer.validation_token("app", "tid", now=2_000.0) != token
    real = jwt.decode(signer.validation_token("other", "tid"), key, algorithms=["RS256"], audience="other")
    assert real["appid"] == "0bf30f3b-4a52-48df-9a82-234910c4a086"
