"""Okta's error codes: what each means for a CASB connection and how the user fixes it."""

from __future__ import annotations

import orjson

from opencasb.errors import ErrorInfo
from opencasb.http.policy import DEFAULT_POLICY, ErrorPolicy

__all__ = ["CATALOGUE", "OKTA_POLICY", "extract_okta_code"]

CATALOGUE: dict[str, ErrorInfo] = {
    info.code: info
    for info in (
        ErrorInfo(
            "E0000011",
            "Okta refused the API token: it is wrong, expired (unused for 30 days), revoked, or "
            "its admin was deactivated",
            "create a new API token in Admin Console → Security → API → Tokens (from a dedicated "
            "read-only or super admin service account) and store it with "
            "`opencasb apps edit NAME --new-secret`",
        ),
        ErrorInfo(
            "E0000004",
            "authentication failed",
            "check the token or the OAuth client's credentials and store them with "
            "`opencasb apps edit NAME --new-secret`",
        ),
        ErrorInfo(
            "E0000006",
            "the token's admin (or the OAuth app's scopes) lacks the permission for this call",
            "reading the System Log and users needs at least a Read-only admin; governance "
            "actions need a Super or Org admin; for OAuth grant okta.logs.read, "
            "okta.users.read and okta.groups.read",
        ),
        ErrorInfo(
            "E0000047",
            "Okta's rate limit for this endpoint was exceeded",
            "nothing to do: OpenCASB waits for the window to reset; if it persists, another "
            "tool shares the org's budget — lower its rate or raise the token's share",
            transient=True,
        ),
        ErrorInfo(
            "E0000009",
            "Okta had an internal error or the query took longer than 30 seconds",
            "nothing to do: the request is retried",
            transient=True,
        ),
        ErrorInfo(
            "E0000053",
            "Okta rejected a query parameter (for example a start more than 180 days back)",
            "keep the backfill within 90 days; if this persists, report it as a bug",
        ),
        ErrorInfo(
            "E0000001",
            "Okta rejected the request's parameters",
            "report it as a bug with the request id from the log",
        ),
        ErrorInfo("E0000007", "the object does not exist in Okta", "check the id or login"),
        ErrorInfo(
            "invalid_client",
            "Okta refused the OAuth client: unknown client id, wrong key, or a bad assertion",
            "check the client id, that the service app's public key matches the private key "
            "given, and that this machine's clock is correct",
        ),
        ErrorInfo(
            "invalid_scope",
            "the OAuth service app was not granted a requested scope",
            "grant okta.logs.read, okta.users.read and okta.groups.read in the app's "
            "'Okta API Scopes' tab",
        ),
    )
}


def extract_okta_code(body: bytes) -> tuple[str, str]:
    """(errorCode, errorSummary) of an Okta error body, or the OAuth (error, description)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    if "errorCode" in data:
        return str(data.get("errorCode") or ""), str(data.get("errorSummary") or "")
    if "error" in data:
        return str(data.get("error") or ""), str(data.get("error_description") or "")
    return "", ""


OKTA_POLICY = ErrorPolicy(
    by_status=DEFAULT_POLICY, catalogue=CATALOGUE, extract_code=extract_okta_code
)
