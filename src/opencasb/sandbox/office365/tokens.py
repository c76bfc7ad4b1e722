"""Access tokens: the JWTs the emulated Azure AD issues and the APIs verify.

Tokens are v1.0 app-only tokens, as Azure AD issues for both ``https://manage.office.com``
and ``https://graph.microsoft.com`` (research §1.4.2): ``aud`` is the resource, ``iss`` is
``https://sts.windows.net/{tid}/``, ``roles`` holds the application permissions granted on
that resource (absent when none are), ``appidacr`` is ``"1"`` for a secret and ``"2"`` for a
certificate. They are signed RS256 with the state's key and checked against the emulator's
clock, never the wall clock.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from opencasb.sandbox.office365.state import AppRegistration, O365State

__all__ = ["TOKEN_LIFETIME", "Caller", "InvalidToken", "issue_access_token", "verify_bearer"]

TOKEN_LIFETIME = timedelta(seconds=3599)


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified Bearer token's principal."""

    app_id: str
    tenant_id: str
    audience: str
    roles: frozenset[str]


class InvalidToken(Exception):
    """A missing, malformed, expired or wrong-audience Bearer token; ``str()`` says which."""


def issue_access_token(
    state: O365State, app: AppRegistration, resource: str, *, certificate: bool
) -> tuple[str, int, int]:
    """A signed token for ``app`` on ``resource``: ``(jwt, not_before, expires_on)``."""
    now = int(state.clock.now().timestamp())
    exp = now + int(TOKEN_LIFETIME.total_seconds())
    sts = f"https://sts.windows.net/{state.tenant_id}/"
    claims: dict[str, Any] = {
        "aud": resource,
        "iss": sts,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "app_displayname": app.name,
        "appid": app.client_id,
        "appidacr": "2" if certificate else "1",
        "idp": sts,
        "idtyp": "app",
        "oid": app.service_principal_id,
        "sub": app.service_principal_id,
        "tid": state.tenant_id,
        "uti": base64.urlsafe_b64encode(state.rng.randbytes(16)).decode().rstrip("="),
        "ver": "1.0",
    }
    roles = sorted(app.roles.get(resource, frozenset()))
    if roles:
        claims["roles"] = roles
    headers = {"typ": "JWT", "x5t": state.key_id, "kid": state.key_id}
    token = jwt.encode(claims, state.signing_key, algorithm="RS256", headers=headers)
    return token, now, exp


def verify_bearer(state: O365State, authorization: str | None, audiences: set[str]) -> Caller:
    """The caller behind an ``Authorization: Bearer`` header, or :class:`InvalidToken`."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("Access token is empty.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            state.signing_key.public_key(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise InvalidToken("Invalid signature or malformed token.") from None
    if claims.get("aud") not in audiences:
        raise InvalidToken("Access token validation failure. Invalid audience.")
    if int(claims.get("exp", 0)) <= state.clock.now().timestamp():
        raise InvalidToken("Lifetime validation failed, the token is expired.")
    return Caller(
        str(claims.get("appid")),
        str(claims.get("tid")),
        str(claims["aud"]),
        frozenset(claims.get("roles") or ()),
    )
