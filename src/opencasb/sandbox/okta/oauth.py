"""The org authorization server's client_credentials grant with private_key_jwt.

``POST /oauth2/v1/token`` verifies a client assertion signed with the registered client's
private key: ``iss == sub == client_id``, ``aud == {scheme}://{host}/oauth2/v1/token``,
``exp`` in the future but at most one hour ahead, and a ``jti`` never seen before. All time
checks use the emulator's clock, not PyJWT's wall clock. Errors are RFC 6749 objects.

The helpers for tests and the sandbox CLI to make a key pair and sign an assertion live in
:mod:`opencasb.sandbox.okta.keys` (re-exported here).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import jwt

from opencasb.sandbox.okta.errors import OAuthError
from opencasb.sandbox.okta.keys import generate_rsa_keypair, load_public_key, make_client_assertion
from opencasb.sandbox.okta.state import AccessToken, OktaState

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "ASSERTION_TYPE",
    "generate_rsa_keypair",
    "issue_token",
    "load_public_key",
    "make_client_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]


def _claims(state: OktaState, assertion: str, audience: str) -> dict[str, Any]:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError(
            "invalid_client", f"The client_assertion is not a JWT: {exc}", 401
        ) from exc
    client_id = unverified.get("iss")
    client = state.creds.oauth_clients.get(str(client_id))
    if client is None:
        raise OAuthError("invalid_client", "The client_id is not registered.", 401)
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            client.public_key,
            algorithms=_ALGORITHMS,
            audience=audience,
            issuer=client.client_id,
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                "verify_exp": False,  # checked below against the emulator's clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidAudienceError as exc:
        raise OAuthError(
            "invalid_client", f"The audience claim for client_assertion must be '{audience}'.", 401
        ) from exc
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_client", f"The client_assertion is invalid: {exc}", 401) from exc
    if claims.get("sub") != client.client_id:
        raise OAuthError("invalid_client", "The client_assertion sub must equal iss.", 401)
    return claims


def issue_token(state: OktaState, form: Mapping[str, str], audience: str) -> dict[str, Any]:
    """Handle one token request (the form fields) and return the token response body."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "The grant_type must be 'client_credentials'.")
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        raise OAuthError(
            "invalid_client",
            "Client authentication failed: private_key_jwt (client_assertion) is required.",
            401,
        )
    claims = _claims(state, form["client_assertion"], audience)
    now = state.clock.now()
    exp = int(claims["exp"])
    if exp <= now.timestamp():
        raise OAuthError("invalid_client", "The client_assertion token is expired.", 401)
    if exp > (now + ACCESS_TOKEN_LIFETIME).timestamp():
        raise OAuthError(
            "invalid_client",
            "The client_assertion token has an expiration too far into the future.",
            401,
        )
    client = state.creds.oauth_clients[claims["iss"]]
    requested = frozenset(form.get("scope", "").split())
    if not requested:
        raise OAuthError(
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, "
            "'scope' must be provided.",
        )
    denied = sorted(requested - client.scopes)
    if denied:
        raise OAuthError(
            "invalid_scope", f"The following scopes are not allowed: {', '.join(denied)}."
        )
    with state.lock:
        creds = state.creds
        # Forget expired jtis so the replay table does not grow forever.
        for old in [j for j, e in creds.used_jtis.items() if e.timestamp() < now.timestamp()]:
            del creds.used_jtis[old]
        jti = str(claims["jti"])
        if jti in creds.used_jtis:
            raise OAuthError(
                "invalid_client", "The client_assertion token has already been used.", 401
            )
        creds.used_jtis[jti] = datetime.fromtimestamp(exp, tz=now.tzinfo)
        token = secrets.token_urlsafe(32)
        creds.access_tokens[token] = AccessToken(
            token, client.client_id, requested, now + ACCESS_TOKEN_LIFETIME
        )
    return {
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "access_token": token,
        "scope": " ".join(sorted(requested)),
    }
