"""User lifecycle operations: the state machine of research §5.4 and the events they log.

Each successful operation updates the user's ``lastUpdated`` (and ``statusChanged`` when the
status moves) and appends the matching System Log event, persisted "now", whose actor is the
caller and whose ``transaction.detail.requestApiTokenId`` names the SSWS token used.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opencasb.sandbox.okta.auth import Principal, actor_of
from opencasb.sandbox.okta.errors import OktaApiError, bad_request, not_found_user
from opencasb.sandbox.okta.state import OktaState, iso_ms
from opencasb.sandbox.okta.views import user_json

__all__ = ["OPERATIONS", "RequestInfo", "clear_sessions", "run_lifecycle"]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the log event needs to know about the HTTP request."""

    ip: str
    user_agent: str
    request_id: str
    uri: str  # path and query as received
    base: str  # scheme://host


def _not_allowed() -> OktaApiError:
    return OktaApiError(
        403, "E0000038", "This operation is not allowed in the user's current status."
    )


@dataclass(frozen=True, slots=True)
class _Op:
    allowed: frozenset[str]
    to: str | None  # None: the status does not change
    event_type: str
    display: str
    legacy: str
    refuse: Callable[[], OktaApiError]


_ALL = frozenset(
    {"ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED"}
)

OPERATIONS: dict[str, _Op] = {
    "activate": _Op(
        frozenset({"STAGED", "DEPROVISIONED"}),
        "ACTIVE",
        "user.lifecycle.activate",
        "Activate Okta user",
        "core.user.config.user_activated",
        lambda: OktaApiError(
            403, "E0000016", "Activation failed because the user is already active"
        ),
    ),
    "suspend": _Op(
        frozenset({"ACTIVE"}),
        "SUSPENDED",
        "user.lifecycle.suspend",
        "Suspend Okta user",
        "core.user.config.user_suspended",
        lambda: bad_request("suspendUser", ["Cannot suspend a user that is not active"]),
    ),
    "unsuspend": _Op(
        frozenset({"SUSPENDED"}),
        "ACTIVE",
        "user.lifecycle.unsuspend",
        "Unsuspend Okta user",
        "core.user.config.user_unsuspended",
        lambda: bad_request("unsuspendUser", ["Cannot unsuspend a user that is not suspended"]),
    ),
    "deactivate": _Op(
        _ALL,
        "DEPROVISIONED",
        "user.lifecycle.deactivate",
        "Deactivate Okta user",
        "core.user.config.user_deactivated",
        _not_allowed,
    ),
    "reactivate": _Op(
        frozenset({"PROVISIONED", "RECOVERY"}),
        "PROVISIONED",
        "user.lifecycle.reactivate",
        "Reactivate Okta user",
        "core.user.config.user_reactivated",
        _not_allowed,
    ),
    "unlock": _Op(
        frozenset({"LOCKED_OUT"}),
        "ACTIVE",
        "user.account.unlock_by_admin",
        "Unlock user account by admin",
        "core.user.config.user_unlocked_by_admin",
        lambda: OktaApiError(
            403, "E0000032", "Unlock is not allowed for this user.", ["The user is not locked out."]
        ),
    ),
    "expire_password": _Op(
        frozenset({"ACTIVE", "PASSWORD_EXPIRED"}),
        "PASSWORD_EXPIRED",
        "user.account.expire_password",
        "Expire user password",
        "core.user.config.password_expired",
        _not_allowed,
    ),
    "reset_factors": _Op(
        _ALL,
        None,
        "user.mfa.factor.reset_all",
        "Reset all factors for user",
        "core.user.factor.reset_all",
        _not_allowed,
    ),
}


def _log(
    state: OktaState,
    principal: Principal,
    req: RequestInfo,
    user: dict[str, Any],
    event_type: str,
    display: str,
    legacy: str,
) -> None:
    now = state.clock.now()
    profile = user.get("profile", {})
    detail: dict[str, Any] = {}
    if principal.token_id:
        detail["requestApiTokenId"] = principal.token_id
    event = {
        "actor": actor_of(state, principal),
        "client": {
            "userAgent": {"rawUserAgent": req.user_agent, "os": "Unknown", "browser": "UNKNOWN"},
            "zone": "null",
            "device": "Unknown",
            "id": principal.client_id,
            "ipAddress": req.ip,
            "geographicalContext": None,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "rootSessionId": None,
            "externalSessionId": None,
        },
        "displayMessage": display,
        "eventType": event_type,
        "outcome": {"result": "SUCCESS", "reason": None},
        "published": iso_ms(now),
        "securityContext": {
            "asNumber": None,
            "asOrg": None,
            "isp": None,
            "domain": None,
            "isProxy": None,
        },
        "severity": "INFO",
        "debugContext": {
            "debugData": {
                "requestId": req.request_id,
                "requestUri": req.uri.split("?")[0],
                "url": req.uri,
            }
        },
        "legacyEventType": legacy,
        "transaction": {"type": "WEB", "id": req.request_id, "detail": detail},
        "uuid": state.new_uuid(),
        "version": "0",
        "request": {
            "ipChain": [
                {"ip": req.ip, "geographicalContext": None, "version": "V4", "source": None}
            ]
        },
        "target": [
            {
                "id": user["id"],
                "type": "User",
                "alternateId": profile.get("login"),
                "displayName": " ".join(
                    p for p in (profile.get("firstName"), profile.get("lastName")) if p
                ),
                "detailEntry": None,
            }
        ],
    }
    state.append_event(event, persisted_at=now)


def run_lifecycle(
    state: OktaState,
    principal: Principal,
    req: RequestInfo,
    user_ref: str,
    op_name: str,
    send_email: bool,
) -> dict[str, Any]:
    """Apply ``op_name`` to the user and return the 200 body, or raise Okta's error."""
    op = OPERATIONS.get(op_name)
    if op is None:
        raise OktaApiError(404, "E0000007", f"Not found: Resource not found: {op_name} (Operation)")
    with state.lock:
        user = state.find_user(user_ref)
        if user is None:
            raise not_found_user(user_ref)
        status = user.get("status", "")
        if status not in op.allowed:
            raise op.refuse()
        now = iso_ms(state.clock.now())
        if op.to is not None and op.to != status:
            user["status"] = op.to
            user["statusChanged"] = now
            if op_name == "activate":
                user["activated"] = now
        user["lastUpdated"] = now
        _log(state, principal, req, user, op.event_type, op.display, op.legacy)
        if op_name == "expire_password":
            return user_json(user, req.base)
        if op_name == "reactivate" or (op_name == "activate" and not send_email):
            token = secrets.token_urlsafe(15)
            return {"activationUrl": f"{req.base}/tokens/{token}/verify", "activationToken": token}
        return {}


def clear_sessions(state: OktaState, principal: Principal, req: RequestInfo, user_ref: str) -> None:
    """``DELETE /api/v1/users/{id}/sessions``: log ``user.session.clear`` (any status)."""
    with state.lock:
        user = state.find_user(user_ref)
        if user is None:
            raise not_found_user(user_ref)
        _log(
            state,
            principal,
            req,
            user,
            "user.session.clear",
            "Clear user session",
            "core.user_auth.session_clear",
        )
