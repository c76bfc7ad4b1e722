"""The three error dialects the Office 365 emulator speaks, one exception class each.

- :class:`AadError` — Azure AD's token endpoint: an OAuth2 error object whose
  ``error_description`` starts with ``AADSTSnnnn:`` and ends with the trace/correlation ids and
  timestamp, plus ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``, ``error_uri``.
- :class:`ActivityError` — the Management Activity API: ``{"error": {"code": "AF20012",
  "message": "..."}}`` (research §1.5). ``code`` is not always an AF code: a tenant without
  unified auditing answers with a diagnostic dump in ``code`` (see :func:`tenant_not_found`).
- :class:`GraphError` — Microsoft Graph: ``{"error": {"code", "message", "innerError": {date,
  request-id, client-request-id}}}`` (research §3.4).

Handlers raise these; ``app.py`` renders them with the right headers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "AadError",
    "ActivityError",
    "GraphError",
    "aad_body",
    "activity_body",
    "graph_body",
    "tenant_not_found",
]


class AadError(Exception):
    """An Azure AD token-endpoint error: OAuth2 ``error``, AADSTS number, text, HTTP status."""

    def __init__(self, error: str, code: int, text: str, status: int = 400) -> None:
        super().__init__(f"AADSTS{code}: {text}")
        self.error = error
        self.code = code
        self.text = text
        self.status = status


class ActivityError(Exception):
    """A Management Activity API error: HTTP status, ``code`` (AFnnnnn) and ``message``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class GraphError(Exception):
    """A Microsoft Graph error: HTTP status, ``code`` (e.g. ``Request_BadRequest``), message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        inner: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.inner = inner or {}


def _aad_time(now: datetime) -> str:
    # Azure AD writes "2016-01-09 02:02:12Z" (space, no fraction) in both places.
    return now.strftime("%Y-%m-%d %H:%M:%SZ")


def aad_body(
    err: AadError, *, now: datetime, trace_id: str, correlation_id: str, base: str
) -> dict[str, Any]:
    """The JSON object Azure AD returns for ``err``."""
    stamp = _aad_time(now)
    description = (
        f"AADSTS{err.code}: {err.text}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
    )
    return {
        "error": err.error,
        "error_description": description,
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base}/error?code={err.code}",
    }


def activity_body(err: ActivityError) -> dict[str, Any]:
    """The JSON object the Management Activity API returns for ``err``."""
    return {"error": {"code": err.code, "message": err.message}}


def graph_body(err: GraphError, *, now: datetime, request_id: str, client_request_id: str) -> Any:
    """The JSON object Microsoft Graph returns for ``err``."""
    inner: dict[str, str] = {
        "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    inner.update(err.inner)
    return {"error": {"code": err.code, "message": err.message, "innerError": inner}}


def tenant_not_found(tenant_id: str, content_type: str, app_id: str, corr: str) -> ActivityError:
    """What ``/subscriptions/start`` answers when unified audit logging is off (research §1.5).

    Not an AF code: the real service leaks a truncated diagnostic dump into ``code`` and an
    exception text into ``message``, so clients must search both for ``AF\\d+`` and otherwise
    recognise ``Tenant ... does not exist``.
    """
    code = (
        f"StartSubscription [CorrId={corr}][TenantId={tenant_id},ContentType={content_type},"
        f"ApplicationId={app_id},PublisherId=00000000-0000-0000-0000-000000000000][AppId"
    )
    message = (
        f"] failed. Exception: Microsoft.Office.Compliance.Audit.DataServiceException: Tenant "
        f"{tenant_id} does not exist.\r\n   at Microsoft.Office.Compliance.Audit.API."
        "AzureManager.<GetSubscriptionAzureTableClientForTenantAsync>d__84.MoveNext()"
    )
    return ActivityError(400, code, message)
