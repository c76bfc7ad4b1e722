"""Test TLS material for the sandbox: a private CA and a loopback server certificate.

:func:`ensure_sandbox_tls` writes ``ca.pem``, ``ca-key.pem``, ``server.pem`` and
``server-key.pem`` into a directory (key files mode 0600) and reuses them on later calls
while they are valid for at least another day and cover the requested host names. Clients
trust ``ca.pem`` (``ssl.create_default_context(cafile=...)``); the server uses the pair.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DEFAULT_HOSTS", "SandboxTLS", "ensure_sandbox_tls"]

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
_CA_DAYS = 3650
_SERVER_DAYS = 365
_MIN_LEFT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SandboxTLS:
    """Paths of the sandbox CA certificate and the server's certificate and key."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    # Create key files 0600 from the start, so there is no moment they are world-readable.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    if secret:
        os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _still_good(tls: SandboxTLS, hosts: tuple[str, ...], now: datetime) -> bool:
    paths = (tls.ca_cert, tls.ca_key, tls.server_cert, tls.server_key)
    if not all(p.is_file() for p in paths):
        return False
    try:
        ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
        server = x509.load_pem_x509_certificate(tls.server_cert.read_bytes())
        serialization.load_pem_private_key(tls.server_key.read_bytes(), None)
        server.verify_directly_issued_by(ca)
        wanted = set(_san(hosts))
        have = set(server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return False
    return (
        wanted <= have
        and ca.not_valid_after_utc - now > _MIN_LEFT
        and server.not_valid_after_utc - now > _MIN_LEFT
        and server.not_valid_before_utc <= now
    )


def ensure_sandbox_tls(
    directory: Path, hosts: tuple[str, ...] = DEFAULT_HOSTS, *, now: datetime | None = None
) -> SandboxTLS:
    """Make (or reuse) the CA and a server certificate for ``hosts`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    tls = SandboxTLS(
        directory / "ca.pem",
        directory / "ca-key.pem",
        directory / "server.pem",
        directory / "server-key.pem",
    )
    now = now or datetime.now(UTC)
    if _still_good(tls, hosts, now):
        return tls
    start = now - timedelta(minutes=5)  # tolerate small clock skew between processes
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenCASB sandbox CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=_SERVER_DAYS))
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(tls.ca_key, _key_pem(ca_key), secret=True)
    _write(tls.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), secret=False)
    _write(tls.server_key, _key_pem(key), secret=True)
    _write(tls.server_cert, server_cert.public_bytes(serialization.Encoding.PEM), secret=False)
    return tls
