"""Office 365's error codes: what each means for a CASB connection and how the user fixes it.

Three dialects (api-office365.md §1.4-1.5, §3.4): Azure AD token errors (``AADSTSnnnn``), the
Management Activity API (``AFnnnnn``, sometimes buried in a diagnostic dump) and Graph
(``Request_BadRequest`` ...). The meanings and fixes follow the troubleshooting table of the
commercial product (mcas-features.md §1.8) where it has a row, and say more where it does not.

The Management Activity API answers 400 for errors as different as "retry with another window"
and "this tenant has no licence", and 403 for throttling, so the policy resolves by code first.
"""

from __future__ import annotations

import re

import orjson

from opencasb.errors import (
    AuthFailed,
    ConnectorError,
    ErrorInfo,
    PermissionDenied,
    RateLimited,
    UpstreamError,
)
from opencasb.http.policy import DEFAULT_POLICY, Action, ErrorPolicy, Resolution

__all__ = ["AUDIT_OFF", "CATALOGUE", "O365_POLICY", "aadsts_error", "extract_o365_code"]

AUDIT_OFF = "AuditLogDisabled"
"""Our code for the "Tenant ... does not exist" dump, which carries no AF code."""

_LICENCE_FIX = (
    "assign at least one Microsoft 365 licence (E3/E5 or similar) in the Microsoft 365 admin "
    "center, wait up to an hour, then run `opencasb test NAME`"
)
_AUDIT_FIX = (
    "turn on audit logging in Microsoft Purview (Audit → Start recording user and admin "
    "activity, or `Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true`); it can "
    "take up to an hour to take effect, then run `opencasb test NAME`"
)
_SECRET_FIX = (
    "create a new client secret under the app registration's Certificates & secrets and run "
    "`opencasb apps edit NAME --new-secret` with it"
)
_TENANT_FIX = (
    "check the tenant id (Entra ID → Overview → Tenant ID) and the cloud, then correct them "
    "with `opencasb apps edit NAME --set tenant_id=GUID --set cloud=commercial`"
)
_EDIT = "`opencasb apps edit NAME`"
_CONSENT_FIX = (
    "in the app registration's API permissions add Office 365 Management APIs → Application → "
    "ActivityFeed.Read (and ActivityFeed.ReadDlp), Microsoft Graph → Application → "
    "User.Read.All and Group.Read.All, then click 'Grant admin consent'"
)

CATALOGUE: dict[str, ErrorInfo] = {
    info.code: info
    for info in (
        # Management Activity API
        ErrorInfo(
            "AF20012",
            "the tenant has no Microsoft 365 licence assigned, so it has no audit log",
            _LICENCE_FIX,
        ),
        ErrorInfo(
            "AF20023", "audit logging is not enabled for the tenant (or was disabled)", _AUDIT_FIX
        ),
        ErrorInfo(AUDIT_OFF, "audit logging is not enabled for the tenant", _AUDIT_FIX),
        ErrorInfo(
            "AF20022",
            "there is no subscription for this content type yet",
            "nothing to do: OpenCASB starts the subscription; content appears within 12 hours",
            transient=True,
        ),
        ErrorInfo(
            "AF10001",
            "the app registration lacks the ActivityFeed.Read application permission",
            _CONSENT_FIX,
        ),
        ErrorInfo(
            "AF20010",
            "the access token was issued for a different tenant than the one in the URL",
            _TENANT_FIX,
        ),
        ErrorInfo("AF20011", "the tenant does not exist or was deleted", _TENANT_FIX),
        ErrorInfo("AF20013", "the tenant id is not a GUID", _TENANT_FIX),
        ErrorInfo(
            "AF20020",
            "the API does not know the content type asked for",
            "report this as a bug in OpenCASB",
        ),
        ErrorInfo(
            "AF20030",
            "the content window asked for is longer than 24 hours or older than 7 days",
            "nothing to do: OpenCASB narrows the window; records older than 7 days are gone",
            transient=True,
        ),
        ErrorInfo(
            "AF20055",
            "the content window asked for is longer than 24 hours or older than 7 days",
            "nothing to do: OpenCASB narrows the window; records older than 7 days are gone",
            transient=True,
        ),
        ErrorInfo(
            "AF20031",
            "the API refused its own next-page token",
            "nothing to do: the listing is retried",
            transient=True,
        ),
        ErrorInfo(
            "AF20050",
            "a content blob listed by the API no longer exists",
            "nothing to do: the gap is recorded and shown with the instance's health",
        ),
        ErrorInfo(
            "AF20051",
            "a content blob expired (older than 7 days) before it could be fetched; its records "
            "are lost",
            "keep OpenCASB's sync running (an instance down for more than a week loses data); "
            "import the missing period from a Purview audit export with "
            "`opencasb import office365 FILE`",
        ),
        ErrorInfo(
            "AF429",
            "the tenant's Management Activity API budget (about 2,000 requests a minute) is spent",
            "nothing to do: OpenCASB backs off; if it persists, another tool shares the "
            "tenant's budget — lower that tool's rate or OpenCASB's requests_per_minute",
            transient=True,
        ),
        ErrorInfo(
            "AF50000",
            "the Management Activity API had an internal error",
            "nothing to do: the request is retried",
            transient=True,
        ),
        # Azure AD token endpoint
        ErrorInfo("AADSTS7000215", "Azure AD refused the client secret: it is wrong", _SECRET_FIX),
        ErrorInfo("AADSTS7000222", "the client secret has expired", _SECRET_FIX),
        ErrorInfo(
            "AADSTS700016",
            "no app with this client id exists in the tenant: the client id is wrong, or the "
            "app was registered in another tenant",
            "check the Application (client) id on the app registration's Overview and that "
            f"the tenant id is the one the app lives in, then correct them with {_EDIT} "
            "--set client_id=GUID",
        ),
        ErrorInfo("AADSTS90002", "the tenant does not exist in this cloud", _TENANT_FIX),
        ErrorInfo("AADSTS900023", "the tenant id is not a valid tenant identifier", _TENANT_FIX),
        ErrorInfo(
            "AADSTS700027",
            "Azure AD could not verify the certificate credential: the certificate is not "
            "uploaded to the app registration, or the private key does not match it",
            "upload the certificate (public part) to the app registration's Certificates & "
            "secrets, check the private key given is its pair, then store it with "
            f"{_EDIT} --new-secret",
        ),
        ErrorInfo(
            "AADSTS50027",
            "the client assertion is malformed",
            f"check the private key and certificate, then store them with {_EDIT} --new-secret",
        ),
        ErrorInfo(
            "AADSTS700024",
            "the client assertion is outside its valid time range: this machine's clock is wrong",
            "synchronise this machine's clock (NTP), then test again",
        ),
        ErrorInfo(
            "AADSTS500011",
            "the API is not available in the tenant: Office 365 Management APIs have not been "
            "consented to, or the tenant is in another cloud",
            _CONSENT_FIX + "; check the cloud setting",
        ),
        ErrorInfo(
            "AADSTS70002",
            "Azure AD refused the credential",
            f"store a valid client secret or certificate with {_EDIT} --new-secret",
        ),
        ErrorInfo(
            "AADSTS70008",
            "the token or grant has expired",
            f"store a current credential with {_EDIT} --new-secret",
        ),
        ErrorInfo(
            "AADSTS90055",
            "Azure AD is throttling token requests",
            "nothing to do: OpenCASB retries",
            transient=True,
        ),
        # Graph
        ErrorInfo(
            "Authorization_RequestDenied",
            "the app registration lacks a Microsoft Graph permission this needs",
            _CONSENT_FIX,
        ),
        ErrorInfo(
            "InvalidAuthenticationToken",
            "Graph refused the access token",
            f"store a current credential with {_EDIT} --new-secret; if it persists, check the "
            f"cloud setting ({_EDIT} --set cloud=...)",
        ),
        ErrorInfo(
            "TooManyRequests",
            "Microsoft Graph is throttling this app",
            "nothing to do: OpenCASB waits as Graph asks",
            transient=True,
        ),
    )
}

_AF = re.compile(r"\bAF(\d{3,5})\b")


def extract_o365_code(body: bytes) -> tuple[str, str]:
    """(code, message) of a Management Activity or Graph error body.

    The AF code is searched for in both ``code`` and ``message``, because a tenant without
    unified auditing answers with a diagnostic dump in ``code`` (research §1.5); that dump is
    reported as :data:`AUDIT_OFF`.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        code, message = str(err.get("code") or ""), str(err.get("message") or "")
        match = _AF.search(code) or _AF.search(message)
        if match:
            return f"AF{match.group(1)}", message[:300]
        if "DataServiceException" in message and "does not exist" in message:
            return AUDIT_OFF, "Tenant does not exist (unified audit logging is off)"
        return code[:80], message[:300]
    if isinstance(err, str):  # an OAuth error from the token endpoint
        return err, str(data.get("error_description") or "")[:300]
    return "", ""


def aadsts_error(result: dict[str, object], *, app: str = "office365") -> ConnectorError:
    """The error for an Azure AD token answer (as MSAL returns it) that has no token."""
    codes = result.get("error_codes")
    number = codes[0] if isinstance(codes, list) and codes else None
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "").split("\r\n", 1)[0]
    code = f"AADSTS{number}" if number is not None else error
    info = CATALOGUE.get(code)
    message = f"Azure AD refused the token request ({code}: {description or error})"
    cls: type[ConnectorError] = AuthFailed
    if error == "temporarily_unavailable" or (info is not None and info.transient):
        cls = UpstreamError
    elif error in ("invalid_scope", "unauthorized_client") or code == "AADSTS500011":
        cls = PermissionDenied
    return cls(
        message,
        meaning=info.meaning if info else f"Azure AD refused the credential: {description}",
        fix=info.fix
        if info
        else "check the tenant id, client id and secret, then correct them with "
        "`opencasb apps edit NAME`",
        code=code,
        app=app,
    )


_FAIL_DENIED = Resolution(
    Action.FAIL, PermissionDenied, "the tenant is not ready for audit collection"
)
_RETRY = Resolution(Action.RETRY, UpstreamError, "the Management Activity API failed")

BY_CODE: dict[str, Resolution] = {
    "AF429": Resolution(Action.RATE_LIMITED, RateLimited, "the API's rate limit was exceeded"),
    "AF50000": _RETRY,
    "AF50005": _RETRY,
    "AF50006": _RETRY,
    "AF20031": _RETRY,
    "AF20012": _FAIL_DENIED,
    "AF20023": _FAIL_DENIED,
    AUDIT_OFF: _FAIL_DENIED,
    "AF10001": _FAIL_DENIED,
    "AF20010": Resolution(Action.FAIL, AuthFailed, "the token is for another tenant"),
    "AF20011": Resolution(Action.FAIL, AuthFailed, "the tenant does not exist"),
    "AF20013": Resolution(Action.FAIL, AuthFailed, "the tenant id is not a GUID"),
    "TooManyRequests": Resolution(Action.RATE_LIMITED, RateLimited, "Graph throttled the app"),
}

O365_POLICY = ErrorPolicy(
    by_status=DEFAULT_POLICY,
    catalogue=CATALOGUE,
    extract_code=extract_o365_code,
    by_code=BY_CODE,
)
