"""Azure AD app-only tokens through MSAL: a client secret or a certificate.

MSAL does the wire work (OpenID discovery, the v2 token endpoint, the signed client assertion
for a certificate) and caches tokens per scope. We give it an ``httpx.Client`` as its HTTP
client, so its requests go through the same transport and TLS trust as the API calls (the
sandbox CA, a TLS-inspecting proxy's CA, or the in-process emulator in tests). Instance
discovery is off: it would ask login.microsoftonline.com about hosts it does not know, which
reaches the internet for the sandbox and adds nothing for Microsoft's own hosts.

Token lifetime is judged on the injected clock as well as MSAL's: a token is dropped once the
clock says it is within 5 minutes of expiry, so tests with a fake clock and a server that
checks expiry on the same clock agree on when a token is stale.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
import msal
import msal.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from opencasb.apps.office365.errors import aadsts_error
from opencasb.errors import ConfigError, ConnectorError, UpstreamError
from opencasb.http.client import connection_error
from opencasb.http.options import HttpOptions
from opencasb.logs import remember_secret

__all__ = ["BearerAuth", "TokenSource", "certificate_credential"]

log = logging.getLogger(__name__)

_EARLY = timedelta(minutes=5)  # MSAL treats a token with < 5 min left as expired; so do we


def certificate_credential(pem: str) -> dict[str, str]:
    """MSAL's certificate credential from one PEM holding the private key and its certificate.

    Raises:
        ConfigError: the PEM lacks either part, or they are unreadable.
    """
    data = pem.encode()
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigError(
            "the certificate PEM has no readable certificate",
            fix="give one PEM file holding the private key and the certificate uploaded to "
            "the app registration (cat key.pem cert.pem > both.pem)",
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            "the certificate PEM has no readable, unencrypted private key",
            fix="add the certificate's private key (not password-protected) to the PEM file",
        ) from None
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "private_key": key_pem,
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # x5t is the SHA-1 thumbprint
        # No "public_certificate": it makes MSAL send x5c, which only subject-name/issuer
        # authentication needs; the app registration holds the uploaded certificate.
    }


class _MsalHttp:
    """``httpx.Client`` as MSAL's HTTP client. MSAL hands form values over as ``bytes`` (the
    signed client assertion), which requests encodes as text but httpx would send as
    ``b'...'``; values are decoded here so the assertion arrives intact."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        data = kwargs.get("data")
        if isinstance(data, dict):
            kwargs["data"] = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._client.get(url, **kwargs)

    def close(self) -> None:  # the TokenSource owns the client
        pass


class TokenSource:
    """App-only tokens for one app registration in one tenant, cached per resource.

    Args:
        authority: ``https://{login host}/{tenant id}``.
        client_id: the app registration's application id.
        credential: a client secret string, or MSAL's certificate dict.
        http: transport, TLS trust, timeout and clock.
    """

    def __init__(
        self,
        authority: str,
        client_id: str,
        credential: str | dict[str, str],
        *,
        http: HttpOptions,
    ) -> None:
        self.authority = authority
        self._client_id = client_id
        self._credential = credential
        self._clock = http.clock
        kwargs: dict[str, Any] = {"timeout": http.timeout, "follow_redirects": False}
        if http.transport is not None:
            kwargs["transport"] = http.transport
        else:
            kwargs["verify"] = http.verify
        self._http = httpx.Client(**kwargs)
        self._owns_transport = http.transport is None
        self._app: msal.ConfidentialClientApplication | None = None
        self._expires: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._max_retries = http.max_retries
        self._rng = random.Random()

    def close(self) -> None:
        if self._owns_transport:
            self._http.close()

    def _msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    http_client=_MsalHttp(self._http),
                    instance_discovery=False,
                )
            except ValueError:
                # MSAL turns any 4xx of its OpenID discovery into a ValueError that does not
                # say which: ask the document ourselves to tell a wrong tenant from a
                # throttled or failing login host.
                raise self._discovery_error() from None
        return self._app

    def _discovery_error(self) -> ConnectorError:
        url = f"{self.authority}/v2.0/.well-known/openid-configuration"
        try:
            resp = self._http.get(url)
        except httpx.TransportError as exc:
            return connection_error(exc, url, "office365")
        if resp.status_code == 429 or resp.status_code >= 500 or resp.status_code == 200:
            return UpstreamError(
                f"Azure AD's OpenID discovery failed (HTTP {resp.status_code})",
                fix="nothing to do: it is retried",
                app="office365",
                status=resp.status_code,
            )
        try:
            body = resp.json()
        except ValueError:
            body = {}
        err = aadsts_error(body if isinstance(body, dict) else {})
        if err.code in ("unknown_error", ""):
            err.code = "AADSTS90002"
            err.meaning = "the tenant id is wrong, or the tenant is in another cloud"
            err.fix = "check the tenant id (Entra ID → Overview → Tenant ID) and the cloud"
        return err

    def token(self, resource: str) -> str:
        """An access token for ``resource`` (e.g. ``https://manage.office.com``).

        Transient failures of the login host (5xx, 429, AADSTS90055, a reset connection) are
        retried with backoff on the injected clock, as the API client does.

        Raises:
            ConnectorError: Azure AD refused (with the AADSTS code's meaning and fix), or the
                login host kept failing or is unreachable.
        """
        scope = resource.rstrip("/") + "/.default"
        with self._lock:
            expires = self._expires.get(scope)
            if expires is not None and self._clock.now() >= expires - _EARLY:
                self._drop_cached()
            attempt = 0
            while True:
                try:
                    return self._acquire(scope)
                except ConnectorError as exc:
                    if not exc.transient or attempt >= self._max_retries:
                        raise
                    code = exc.code
                attempt += 1
                ceiling = min(60.0, 2.0 ** (attempt - 1))
                delay = self._rng.uniform(ceiling / 2, ceiling)
                log.warning(
                    "token request failed (%s); retrying",
                    code,
                    extra={"app": "office365", "attempt": attempt, "delay": round(delay, 3)},
                )
                self._clock.sleep(delay)

    def _acquire(self, scope: str) -> str:
        try:
            result = self._msal().acquire_token_for_client(scopes=[scope])
        except httpx.TransportError as exc:
            raise connection_error(exc, self.authority, "office365") from None
        except (msal.exceptions.MsalServiceError, httpx.HTTPStatusError) as exc:
            # MSAL raises instead of answering when the token endpoint fails with a 5xx.
            raise UpstreamError(
                f"Azure AD's token endpoint failed: {exc}",
                fix="nothing to do: it is retried",
                app="office365",
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise aadsts_error(result if isinstance(result, dict) else {})
        if result.get("token_source") != "cache" or scope not in self._expires:
            lifetime = int(result.get("expires_in") or 3599)
            self._expires[scope] = self._clock.now() + timedelta(seconds=lifetime)
        token = str(result["access_token"])
        remember_secret(token)  # masked in logs from now on
        return token

    def invalidate(self) -> bool:
        """Forget cached tokens (after a 401); a retry will fetch fresh ones."""
        with self._lock:
            self._drop_cached()
        return True

    def _drop_cached(self) -> None:
        self._expires.clear()
        if self._app is None:
            return
        cache = self._app.token_cache
        for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(entry)


class BearerAuth:
    """The ``Auth`` of an :class:`~opencasb.http.ApiClient`: bearer tokens for one resource."""

    def __init__(self, tokens: TokenSource, resource: str) -> None:
        self._tokens = tokens
        self.resource = resource

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens.token(self.resource)}"}

    def invalidate(self) -> bool:
        return self._tokens.invalidate()
