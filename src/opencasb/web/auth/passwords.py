"""Passwords: argon2id hashes (argon2-cffi), the minimum a password must meet, and random
passwords for the first admin."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from opencasb.errors import ConfigError

__all__ = ["MIN_LENGTH", "check_password_policy", "hash_password", "random_password", "verify"]

MIN_LENGTH = 12

# A hash no password matches, checked when the username is unknown so that a failed
# sign-in takes as long whether or not the account exists.
_DUMMY: dict[int, str] = {}


def check_password_policy(password: str) -> None:
    """Refuse a password too short to resist guessing, or one that is all blanks.

    Raises:
        ConfigError: naming the rule.
    """
    if len(password) < MIN_LENGTH or not password.strip():
        raise ConfigError(
            f"the password is too short: it needs at least {MIN_LENGTH} characters",
            fix="choose a longer password (a passphrase of several words is easy to remember)",
            code="weak_password",
        )
    if len(password) > 1024:
        raise ConfigError("the password is longer than 1024 characters", code="weak_password")


def hash_password(hasher: PasswordHasher, password: str) -> str:
    """The argon2id PHC string of ``password`` (after the policy check)."""
    check_password_policy(password)
    return hasher.hash(password)


def verify(hasher: PasswordHasher, stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; with no hash (unknown user) a dummy one
    is checked so the time taken gives nothing away."""
    if stored_hash is None:
        key = id(hasher)
        if key not in _DUMMY:
            _DUMMY[key] = hasher.hash(secrets.token_urlsafe(16))
        stored_hash = _DUMMY[key]
        password = password + "\0"  # never the dummy's password
    try:
        return hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def random_password(length: int = 20) -> str:
    """A random password of letters and digits (no look-alike punctuation to mistype)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))
