"""Keys and client assertions for the emulator's OAuth service apps (tests, sandbox CLI)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["generate_rsa_keypair", "load_public_key", "make_client_assertion"]


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """A fresh RSA key pair as ``(private_pem, public_pem)`` (PKCS#8 / SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def load_public_key(key: str | bytes | Mapping[str, Any]) -> Any:
    """A public key object from PEM text/bytes or a JWK (public or private JWK)."""
    if isinstance(key, Mapping):
        return jwt.PyJWK(dict(key)).key
    data = key.encode() if isinstance(key, str) else key
    return serialization.load_pem_public_key(data)


def make_client_assertion(
    private_pem: str,
    *,
    client_id: str,
    audience: str,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=5),
    jti: str | None = None,
    kid: str | None = None,
    algorithm: str = "RS256",
) -> str:
    """Sign a private_key_jwt client assertion as Okta expects it."""
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": jti or str(uuid.uuid4()),
    }
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, private_pem, algorithm=algorithm, headers=headers)
