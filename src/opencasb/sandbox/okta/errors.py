"""Okta's error responses, as the emulator sends them.

Handlers raise :class:`OktaApiError`; the app turns it into Okta's error object
``{errorCode, errorSummary, errorLink, errorId, errorCauses}`` with the right HTTP status.
OAuth endpoint errors use RFC 6749's ``{error, error_description}`` instead
(:class:`OAuthError`), because that is what Okta's authorization server answers.
"""

from __future__ import annotations

import random
import string
from typing import Any

__all__ = [
    "OAuthError",
    "OktaApiError",
    "access_denied",
    "bad_request",
    "error_body",
    "not_found_user",
    "random_error_id",
]

_ID_ALPHABET = string.ascii_letters + string.digits + "_-"


def random_error_id(rng: random.Random) -> str:
    """An ``errorId`` shaped like Okta's: ``oae`` followed by 22 url-safe characters."""
    return "oae" + "".join(rng.choice(_ID_ALPHABET) for _ in range(22))


class OktaApiError(Exception):
    """An Okta API error: HTTP ``status``, ``code`` (E0000xxx), ``summary`` and ``causes``.

    ``include_link_and_causes`` is False for the System Log's own parameter errors, which
    real Okta sends without ``errorLink``/``errorCauses`` (clients must not require them).
    """

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: list[str] | None = None,
        *,
        headers: dict[str, str] | None = None,
        include_link_and_causes: bool = True,
    ) -> None:
        super().__init__(f"{status} {code}: {summary}")
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = causes or []
        self.headers = headers or {}
        self.include_link_and_causes = include_link_and_causes


class OAuthError(Exception):
    """An RFC 6749 token-endpoint error, e.g. ``invalid_client`` (401) or ``invalid_scope``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def error_body(err: OktaApiError, error_id: str) -> dict[str, Any]:
    """The JSON object Okta returns for ``err``."""
    body: dict[str, Any] = {"errorCode": err.code, "errorSummary": err.summary}
    if err.include_link_and_causes:
        body["errorLink"] = err.code
    body["errorId"] = error_id
    if err.include_link_and_causes:
        body["errorCauses"] = [{"errorSummary": c} for c in err.causes]
    return body


def bad_request(what: str, causes: list[str] | None = None) -> OktaApiError:
    """400 E0000001 ``Api validation failed: {what}``."""
    return OktaApiError(400, "E0000001", f"Api validation failed: {what}", causes)


def access_denied() -> OktaApiError:
    """403 E0000006: the token lacks the role or scope for this call."""
    return OktaApiError(
        403, "E0000006", "You do not have permission to perform the requested action"
    )


def not_found_user(ident: str) -> OktaApiError:
    """404 E0000007 for a user id/login that does not exist."""
    return OktaApiError(404, "E0000007", f"Not found: Resource not found: {ident} (User)")
