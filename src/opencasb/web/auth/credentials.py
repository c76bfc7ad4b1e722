"""The secrets the portal hands out: session cookies, CSRF tokens and API tokens.

Each is 32 random bytes (``secrets.token_urlsafe``); the store keeps only their SHA-256 hex,
so a copy of the database signs nobody in. A session's CSRF token is derived from its
cookie (HMAC-SHA256 of a fixed label keyed by the cookie's value): a page can embed it, a
cross-site attacker cannot compute it, and nothing more is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = [
    "TOKEN_PREFIX",
    "csrf_for",
    "csrf_matches",
    "digest",
    "new_api_token",
    "new_session_token",
]

TOKEN_PREFIX = "ocb_"
"""API tokens start with this, so a leaked one is recognisable (secret scanners, logs)."""


def digest(value: str) -> str:
    """The SHA-256 hex of a credential, as the store keeps it."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def csrf_for(session_token: str) -> str:
    """The CSRF token of the session whose cookie holds ``session_token``."""
    return hmac.new(session_token.encode(), b"opencasb-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token (constant-time comparison)."""
    return bool(given) and hmac.compare_digest(csrf_for(session_token), given or "")
