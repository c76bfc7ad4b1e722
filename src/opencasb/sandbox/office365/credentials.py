"""Client credentials for talking to the emulator: a self-signed certificate and the client
assertion Azure AD expects (the same wire shape MSAL produces, research §1.4.3).

For tests, the sandbox CLI and connector tests; the emulator itself only verifies.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["AppCertificate", "make_certificate", "make_client_assertion"]


@dataclass(frozen=True, slots=True)
class AppCertificate:
    """A key pair and its self-signed certificate, as uploaded to an app registration."""

    private_key_pem: str
    certificate_pem: str
    sha1_thumbprint: str  # hex, as MSAL's ``client_credential["thumbprint"]`` wants it
    sha256_thumbprint: str


def make_certificate(
    common_name: str = "OpenCASB", *, now: datetime, days: int = 365, bits: int = 2048
) -> AppCertificate:
    """A fresh RSA key and a self-signed certificate valid from ``now`` for ``days``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return AppCertificate(
        private_pem,
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        cert.fingerprint(hashes.SHA1()).hex(),
        cert.fingerprint(hashes.SHA256()).hex(),
    )


def _b64url(hex_digest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode().rstrip("=")


def make_client_assertion(
    cert: AppCertificate,
    *,
    client_id: str,
    audience: str,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=10),
    jti: str | None = None,
    sha256: bool = False,
) -> str:
    """A signed client assertion: RS256 with ``x5t`` (or PS256 with ``x5t#S256``)."""
    claims = {
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": jti or str(uuid.uuid4()),
        "nbf": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if sha256:
        headers = {"x5t#S256": _b64url(cert.sha256_thumbprint)}
        return jwt.encode(claims, cert.private_key_pem, algorithm="PS256", headers=headers)
    headers = {"x5t": _b64url(cert.sha1_thumbprint)}
    return jwt.encode(claims, cert.private_key_pem, algorithm="RS256", headers=headers)
