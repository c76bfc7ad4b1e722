"""Who is calling, and may they do this.

``Authorization: SSWS <token>`` maps to a registered :class:`ApiToken` (its privilege follows
a permission level: ``read_only`` reads, ``super_admin`` does everything).
``Authorization: Bearer <token>`` maps to an access token issued by ``/oauth2/v1/token``;
it may do what its scopes allow (``*.manage`` implies ``*.read``).
A missing, unknown or expired credential is 401 E0000011; a known one without the right
is 403 E0000006.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from opencasb.sandbox.okta.errors import OktaApiError, access_denied
from opencasb.sandbox.okta.state import OktaState

__all__ = ["Principal", "actor_of", "authenticate", "authorize"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: an SSWS token (with its owner) or an OAuth service app."""

    kind: Literal["ssws", "oauth"]
    token_id: str | None  # the SSWS token id (00T...), for transaction.detail.requestApiTokenId
    user_id: str | None  # the SSWS token's owner; None for a service app
    client_id: str | None  # the OAuth client id; None for SSWS
    permission: str  # "super_admin" / "read_only" for SSWS, "scoped" for OAuth
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        """True when this caller may use an endpoint guarded by OAuth ``scope``."""
        if self.kind == "ssws":
            return self.permission == "super_admin" or not scope.endswith(".manage")
        if scope in self.scopes:
            return True
        return scope.endswith(".read") and scope[: -len("read")] + "manage" in self.scopes


def _invalid_token() -> OktaApiError:
    return OktaApiError(401, "E0000011", "Invalid token provided")


def authenticate(state: OktaState, authorization: str | None) -> Principal:
    """The principal for an ``Authorization`` header value, or 401 E0000011."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    if not credential:
        raise _invalid_token()
    if scheme == "SSWS":
        tok = state.creds.api_tokens.get(credential)
        if tok is None:
            raise _invalid_token()
        return Principal("ssws", tok.token_id, tok.owner_user_id, None, tok.permission, frozenset())
    if scheme.lower() == "bearer":
        access = state.creds.access_tokens.get(credential)
        if access is None or access.expires_at <= state.clock.now():
            raise _invalid_token()
        return Principal("oauth", None, None, access.client_id, "scoped", access.scopes)
    raise _invalid_token()


def authorize(principal: Principal, scope: str) -> None:
    """403 E0000006 unless ``principal`` may use an endpoint that needs ``scope``."""
    if not principal.may(scope):
        raise access_denied()


def actor_of(state: OktaState, principal: Principal) -> dict[str, Any]:
    """The LogEvent ``actor`` for actions taken by ``principal``."""
    if principal.kind == "oauth" and principal.client_id:
        client = state.creds.oauth_clients.get(principal.client_id)
        return {
            "id": principal.client_id,
            "type": "PublicClientApp",
            "alternateId": principal.client_id,
            "displayName": client.name if client else principal.client_id,
            "detailEntry": None,
        }
    user = state.users.get(principal.user_id or "")
    profile = (user or {}).get("profile", {})
    return {
        "id": principal.user_id,
        "type": "User",
        "alternateId": profile.get("login", "unknown"),
        "displayName": " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p)
        or "Okta Admin",
        "detailEntry": None,
    }
