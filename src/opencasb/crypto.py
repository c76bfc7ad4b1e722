"""Secrets at rest: connector credentials are encrypted with the installation's master key.

The cipher is Fernet (AES-128-CBC + HMAC-SHA256, with a version byte and a timestamp) from
``cryptography``. Fernet was chosen over a hand-assembled AES-GCM envelope because its token
format is versioned, authenticated and well reviewed, and its key is printable (url-safe
base64), so it travels well through environment variables and files.

Contract:
    * ``encrypt_json`` output is ASCII text and safe to store in a TEXT column.
    * ``decrypt_json`` of a token made with another key raises :class:`ConfigError` whose
      ``fix`` tells the user what to do; the secret text never appears in any message.
"""

from __future__ import annotations

import binascii
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from opencasb.errors import ConfigError

__all__ = ["Cipher", "generate_key"]

_KEY_FIX = (
    "Set the master key to the value printed by `opencasb` when the data directory was "
    "created, or generate a new one (44 url-safe base64 characters) with "
    "opencasb.crypto.generate_key()."
)


def generate_key() -> bytes:
    """Return a fresh random master key (32 random bytes, url-safe base64: 44 ASCII bytes)."""
    return Fernet.generate_key()


class Cipher:
    """Encrypts and decrypts small JSON objects (connector secrets) with one master key.

    Args:
        key: the master key, as returned by :func:`generate_key` (bytes or its ASCII text).

    Raises:
        ConfigError: the key is not 32 url-safe base64-encoded bytes.
    """

    def __init__(self, key: bytes | str) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ConfigError(
                "the master key is malformed",
                meaning="The master key must be 32 random bytes in url-safe base64.",
                fix=_KEY_FIX,
                code="bad_master_key",
            ) from exc

    def encrypt_json(self, value: dict[str, Any]) -> str:
        """Serialize ``value`` as JSON and encrypt it; the result is ASCII text."""
        return self._fernet.encrypt(orjson.dumps(value)).decode("ascii")

    def decrypt_json(self, token: str) -> dict[str, Any]:
        """Decrypt a token made by :meth:`encrypt_json` with the same key.

        Raises:
            ConfigError: the token was made with another key, or is damaged.
        """
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise ConfigError(
                "stored secrets cannot be decrypted with the current master key",
                meaning="The secrets were encrypted with a different master key, or were damaged.",
                fix="The master key changed: restore it, or store the app's credential again with "
                "`opencasb apps edit NAME --new-secret`.",
                code="wrong_master_key",
            ) from exc
        value = orjson.loads(plain)
        if not isinstance(value, dict):
            raise ConfigError(
                "stored secrets are not a JSON object",
                fix="Store the app's credential again with `opencasb apps edit NAME --new-secret`.",
                code="bad_secret_payload",
            )
        return value
