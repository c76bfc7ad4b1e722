"""Okta credentials: an SSWS API token, or an OAuth 2.0 service app with private_key_jwt."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

import httpx
import jwt
import orjson

from opencasb.apps.okta.errors import CATALOGUE
from opencasb.clock import Clock
from opencasb.errors import AuthFailed, ConfigError, ConnectionFailed, ErrorInfo, UpstreamError
from opencasb.logs import remember_secret

__all__ = ["DEFAULT_SCOPES", "OAuthServiceAuth", "SswsAuth"]

DEFAULT_SCOPES = ("okta.logs.read", "okta.users.read", "okta.groups.read")


class SswsAuth:
    """``Authorization: SSWS <token>``. The token never expires on our side."""

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token:
            raise ConfigError("the Okta API token is empty", fix="paste the token Okta showed once")
        if any(c.isspace() for c in token):
            raise ConfigError(
                "the Okta API token contains spaces", fix="paste the token alone, without 'SSWS '"
            )
        self._token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {self._token}"}

    def invalidate(self) -> bool:
        return False  # nothing cached: a 401 is final


class OAuthServiceAuth:
    """Client credentials with a signed JWT assertion against the org authorization server.

    The access token lasts one hour; it is cached and renewed five minutes before expiry, or
    once after a 401 (the org may have revoked it).

    Args:
        post: sends the form to the token endpoint and returns the raw httpx response; it is
            injected so that the token call shares the connector's transport and TLS settings.
    """

    def __init__(
        self,
        origin: str,
        client_id: str,
        private_key_pem: str,
        *,
        clock: Clock,
        post: Callable[[str, dict[str, str]], httpx.Response],
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
        key_id: str | None = None,
    ) -> None:
        if not client_id.strip():
            raise ConfigError("the OAuth client id is empty", fix="copy it from the service app")
        if "PRIVATE KEY" not in private_key_pem:
            raise ConfigError(
                "the OAuth private key is not a PEM private key",
                fix="give the PEM file of the key pair whose public key the service app holds",
            )
        self._origin = origin
        self._client_id = client_id.strip()
        self._key = private_key_pem
        self._kid = key_id
        self._clock = clock
        self._post = post
        self._scopes = scopes
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.RLock()  # re-entered when the token call itself gets a 401

    @property
    def token_url(self) -> str:
        return f"{self._origin}/oauth2/v1/token"

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock.now().timestamp() > self._expires - 300:
                self._token, self._expires = self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> bool:
        with self._lock:
            had = self._token is not None
            self._token = None
            return had

    def _assertion(self) -> str:
        now = int(self._clock.now().timestamp())
        claims = {
            "aud": self.token_url,
            "iss": self._client_id,
            "sub": self._client_id,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
        headers = {"kid": self._kid} if self._kid else None
        try:
            return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigError(
                f"the OAuth private key cannot sign: {exc}",
                fix="give an RSA private key in PEM format",
            ) from None

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "scope": " ".join(self._scopes),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self._assertion(),
        }
        try:
            resp = self._post(self.token_url, form)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"could not reach the Okta token endpoint: {type(exc).__name__}",
                fix="check the domain and the network path",
                app="okta",
            ) from None
        try:
            data = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            data = {}
        if resp.status_code != 200 or not isinstance(data, dict) or "access_token" not in data:
            code = (
                str(data.get("error", f"HTTP {resp.status_code}")) if isinstance(data, dict) else ""
            )
            desc = str(data.get("error_description", "")) if isinstance(data, dict) else ""
            if resp.status_code >= 500:
                raise UpstreamError(f"the Okta token endpoint failed (HTTP {resp.status_code})")
            info = CATALOGUE.get(code) or ErrorInfo(code, desc, "check the OAuth client settings")
            raise AuthFailed(
                f"Okta refused the OAuth token request ({code}: {desc})",
                meaning=info.meaning,
                fix=info.fix,
                code=code,
                app="okta",
                status=resp.status_code,
            )
        expires_in = float(data.get("expires_in", 3600))
        token = str(data["access_token"])
        remember_secret(token)  # masked in logs from now on
        return token, self._clock.now().timestamp() + expires_in
