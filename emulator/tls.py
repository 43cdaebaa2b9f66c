"""HTTPS for local use: a local certificate authority and a certificate for localhost, made once and cached.

Some Graph clients refuse plain http (the Go SDK) or drop the Authorization header over it (the JavaScript
client). ``serve --tls`` therefore creates, the first time, a private CA and a server certificate for
``localhost``, ``127.0.0.1`` and ``::1`` in a user cache folder, and reuses them afterwards; a client trusts
the emulator by trusting that one CA file. Keys are ECDSA P-256: quick to make and accepted by every current
TLS stack.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography itself is imported on use: plain-http serving never loads it
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate

APP_DIR_NAME = "graph-presence-emulator"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CERT_FILE = "localhost.pem"
KEY_FILE = "localhost-key.pem"
HOST_NAMES = ("localhost", "host.docker.internal")
HOST_ADDRESSES = ("127.0.0.1", "::1")
CA_LIFETIME = timedelta(days=3650)
# 825 days is the longest server-certificate lifetime that Apple's TLS stack accepts.
CERT_LIFETIME = timedelta(days=825)
# Renew the server certificate this long before it would expire.
RENEW_MARGIN = timedelta(days=30)


@dataclass(frozen=True)
class TLSFiles:
    """A server certificate and key, and the CA file a client should trust (None for a given certificate)."""

    cert: Path
    key: Path
    ca: Path | None = None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this emulator's CA (or its certificate, when given one)."""
        return ssl.create_default_context(cafile=str(self.ca or self.cert))


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/graph-presence-emulator`` (``~/.cache/…``; ``%LOCALAPPDATA%\\…`` on Windows)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
    root = Path(base) if base else Path.home() / ".cache"
    return root / APP_DIR_NAME


def given(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> TLSFiles:
    """A certificate and key the user supplies; checked now so that a bad pair fails before serving."""
    files = TLSFiles(Path(cert), Path(key))
    try:
        files.server_context()
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot use certificate {cert} with key {key}: {exc}") from exc
    return files


def local_ca(directory: Path | None = None) -> TLSFiles:
    """The cached local CA and localhost certificate, created on first use (and the certificate renewed when
    it nears expiry). Safe when several processes start at once: they take turns on a lock file."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE)
    with _locked(directory / ".lock"):
        if not (files.ca and files.ca.exists() and (directory / CA_KEY_FILE).exists()):
            _make_ca(directory)
            _make_server_cert(directory)
        elif not _cert_is_fresh(files.cert, files.key):
            _make_server_cert(directory)
    return files


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; concurrent first runs are unlikely there
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(temporary, flags, 0o600 if secret else 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _write_pair(cert_path: Path, cert: Certificate, key_path: Path, key: EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = serialization.Encoding.PEM
    _write(key_path, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
           secret=True)
    _write(cert_path, cert.public_bytes(pem))


def _make_ca(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Graph presence emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Graph presence emulator local CA ({os.getpid()})"),
    ])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_pair(directory / CA_FILE, cert, directory / CA_KEY_FILE, key)


def _make_server_cert(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
    ca_key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{directory / CA_KEY_FILE} is not the emulator's CA key; delete {directory} to renew")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in HOST_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in HOST_ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_pair(directory / CERT_FILE, cert, directory / KEY_FILE, key)


def _cert_is_fresh(cert_path: Path, key_path: Path) -> bool:
    from cryptography import x509

    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_MARGIN > datetime.now(UTC)
