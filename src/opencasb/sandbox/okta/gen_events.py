"""Builders that turn a scheduled event into a full System Log ``LogEvent`` dict.

A builder is ``(ms, sess, r, x) -> dict``: ``ms`` is the published time (Unix ms), ``sess``
says who and from where, ``r`` is 64 random bits drawn when the event was scheduled (so
building never touches a random generator and is independent of which events get built),
and ``x`` is the builder's own argument. Sub-objects shared through ``sess`` are read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opencasb.sandbox.okta.gen_context import DevT, Loc, PersonT
from opencasb.sandbox.okta.gen_ids import NODE_HEX, UUID_EPOCH_OFFSET

__all__ = ["Builder", "Sess", "iso_from_ms"]

_MINUTE_MS = 60_000
_minutes: dict[int, str] = {}


_uuid_high: dict[int, str] = {}
_EMPTY: dict[str, Any] = {}  # transaction.detail: shared, read-only
_RID_MULT = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd, so distinct r give distinct ids
_MASK128 = (1 << 128) - 1


def _minute_prefix(minute: int) -> str:
    if len(_minutes) > 20_000:  # bounded caches: clear rather than grow with the window
        _minutes.clear()
    text = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
    _minutes[minute] = text
    return text


def _uuid_mid(high: int) -> str:
    """The time_mid and time_hi_and_version fields (they change every ~7 minutes)."""
    if len(_uuid_high) > 50_000:
        _uuid_high.clear()
    text = _uuid_high[high] = f"-{high & 0xFFFF:04x}-{(high >> 16) & 0x0FFF | 0x1000:04x}-"
    return text


def iso_from_ms(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` for a Unix-ms time (the text up to the minute is cached)."""
    minute, rem = divmod(ms, _MINUTE_MS)
    prefix = _minutes.get(minute) or _minute_prefix(minute)
    return f"{prefix}{rem // 1000:02d}.{rem % 1000:03d}Z"


_NO_AUTH, AUTH_PASSWORD, AUTH_FACTOR = 0, 1, 2
_AUTH_KINDS: tuple[tuple[str | None, str | None, str | None], ...] = (
    (None, None, None),
    ("OKTA_AUTHENTICATION_PROVIDER", "OKTA_CREDENTIAL_PROVIDER", "PASSWORD"),
    ("FACTOR_PROVIDER", "OKTA_CREDENTIAL_PROVIDER", "OTP"),
)


class Sess:
    """Who acts, with which device, from where, in which Okta session (``sid``).

    The ``client``, ``request`` and ``authenticationContext`` objects are the same for every
    event of a session, so they are built once and shared by those events; ``auth[k]`` is
    the authenticationContext for kind ``k`` (0 none, 1 password, 2 factor).
    """

    __slots__ = ("actor", "auth", "client", "client_id", "dev", "loc", "pt", "request", "sid")

    def __init__(
        self,
        actor: dict[str, Any],
        dev: DevT,
        loc: Loc,
        sid: str | None,
        pt: PersonT | None = None,
        client_id: str | None = None,
    ) -> None:
        self.actor, self.dev, self.loc, self.sid, self.pt = actor, dev, loc, sid, pt
        self.client_id = client_id
        self.client = {
            "userAgent": dev.user_agent,
            "zone": loc.zone,
            "device": dev.kind,
            "id": client_id,
            "ipAddress": loc.ip,
            "geographicalContext": loc.geo,
        }
        self.request = {"ipChain": loc.chain}
        self.auth = [
            {
                "authenticationProvider": provider,
                "credentialProvider": credential,
                "credentialType": ctype,
                "issuer": None,
                "interface": None,
                "authenticationStep": 0,
                "rootSessionId": sid,
                "externalSessionId": sid,
            }
            for provider, credential, ctype in _AUTH_KINDS
        ]


Builder = Callable[[int, Sess, int, Any], dict[str, Any]]


def event(
    ms: int,
    r: int,
    s: Sess,
    event_type: str,
    legacy: str | None,
    message: str,
    result: str,
    reason: str | None,
    severity: str,
    debug: dict[str, Any],
    target: list[dict[str, Any]] | None,
    auth: int = _NO_AUTH,
) -> dict[str, Any]:
    """Assemble one LogEvent with every field of the wire shape.

    This is the hot path of the generator: the time, uuid and request id are formatted inline
    from cached prefixes rather than through helper calls.
    """
    rid = f"{(r * _RID_MULT) & _MASK128:032x}"
    debug["requestId"] = rid
    minute, rem = divmod(ms, 60_000)
    prefix = _minutes.get(minute) or _minute_prefix(minute)
    t = ms * 10_000 + (r & 0x1FFF) + UUID_EPOCH_OFFSET
    mid = _uuid_high.get(t >> 32) or _uuid_mid(t >> 32)
    clock = 0x8000 | ((r >> 13) & 0x3FFF)
    return {
        "actor": s.actor,
        "client": s.client,
        "device": None,
        "authenticationContext": s.auth[auth],
        "displayMessage": message,
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": f"{prefix}{rem // 1000:02d}.{rem % 1000:03d}Z",
        "securityContext": s.loc.security,
        "severity": severity,
        "debugContext": {"debugData": debug},
        "legacyEventType": legacy,
        "transaction": {"type": "WEB", "id": rid, "detail": _EMPTY},
        "uuid": f"{t & 0xFFFFFFFF:08x}{mid}{clock:04x}{NODE_HEX[(r >> 27) % 24]}",
        "version": "0",
        "request": s.request,
        "target": target,
    }


def _behaviors(new_place: bool) -> str:
    v = "POSITIVE" if new_place else "NEGATIVE"
    return (
        f"{{New Geo-Location={v}, New Device=NEGATIVE, New IP={v}, New State={v}, "
        f"New Country={v}, Velocity=NEGATIVE, New City={v}}}"
    )


_BEHAVIORS = {True: _behaviors(True), False: _behaviors(False)}
_RISK = {True: "{reasons=Anomalous Location, level=MEDIUM}", False: "{level=LOW}"}


def policy_evaluate(
    ms: int, s: Sess, r: int, x: tuple[str, bool, list[dict[str, Any]]]
) -> dict[str, Any]:
    result, new_place, target = x
    debug = {
        "behaviors": _BEHAVIORS[new_place],
        "risk": _RISK[new_place],
        "deviceFingerprint": s.dev.fingerprint,
        "requestUri": "/idp/idx/identify",
        "threatSuspected": "false",
        "url": "/idp/idx/identify?",
    }
    return event(
        ms,
        r,
        s,
        "policy.evaluate_sign_on",
        None,
        "Evaluation of sign-on policy",
        result,
        f"Sign-on policy evaluation resulted in {result}",
        "INFO",
        debug,
        target,
    )


def verify(ms: int, s: Sess, r: int, new_place: bool) -> dict[str, Any]:
    debug = {
        "behaviors": _BEHAVIORS[new_place],
        "risk": _RISK[new_place],
        "deviceFingerprint": s.dev.fingerprint,
        "requestUri": "/idp/idx/challenge/answer",
        "threatSuspected": "false",
        "url": "/idp/idx/challenge/answer?",
    }
    return event(
        ms,
        r,
        s,
        "user.authentication.verify",
        None,
        "Verify user identity",
        "SUCCESS",
        None,
        "INFO",
        debug,
        None,
        AUTH_PASSWORD,
    )


_FACTORS = (
    ("OKTA_VERIFY_PUSH", "/idp/idx/authenticators/poll"),
    ("OKTA_SOFT_TOKEN", "/idp/idx/challenge/answer"),
)


def mfa(ms: int, s: Sess, r: int, x: tuple[int, bool]) -> dict[str, Any]:
    factor, ok = x
    name, uri = _FACTORS[factor]
    debug = {
        "factor": name,
        "factorIntent": "AUTHENTICATION",
        "requestUri": uri,
        "threatSuspected": "false",
        "url": uri + "?",
    }
    pt = s.pt
    target = [pt.user_target] if pt else None
    if ok:
        return event(
            ms,
            r,
            s,
            "user.authentication.auth_via_mfa",
            "core.user.factor.attempt_success",
            "Authentication of user via MFA",
            "SUCCESS",
            None,
            "INFO",
            debug,
            target,
            AUTH_FACTOR,
        )
    return event(
        ms,
        r,
        s,
        "user.authentication.auth_via_mfa",
        "core.user.factor.attempt_fail",
        "Authentication of user via MFA",
        "FAILURE",
        "VERIFICATION_ERROR",
        "INFO",
        debug,
        target,
        AUTH_FACTOR,
    )


def session_start(ms: int, s: Sess, r: int, reason: str | None) -> dict[str, Any]:
    debug = {
        "deviceFingerprint": s.dev.fingerprint,
        "requestUri": "/idp/idx/identify",
        "threatSuspected": "false",
        "url": "/idp/idx/identify?",
    }
    if reason is None:
        return event(
            ms,
            r,
            s,
            "user.session.start",
            "core.user_auth.login_success",
            "User login to Okta",
            "SUCCESS",
            None,
            "INFO",
            debug,
            None,
            AUTH_PASSWORD,
        )
    return event(
        ms,
        r,
        s,
        "user.session.start",
        "core.user_auth.login_failed",
        "User login to Okta",
        "FAILURE",
        reason,
        "WARN",
        debug,
        None,
        AUTH_PASSWORD,
    )


def session_end(ms: int, s: Sess, r: int, x: None) -> dict[str, Any]:
    debug = {"requestUri": "/login/signout", "threatSuspected": "false", "url": "/login/signout?"}
    return event(
        ms,
        r,
        s,
        "user.session.end",
        "core.user_auth.logout_success",
        "User logout from Okta",
        "SUCCESS",
        None,
        "INFO",
        debug,
        None,
    )


def sso(ms: int, s: Sess, r: int, i: int) -> dict[str, Any]:
    pt = s.pt
    assert pt is not None
    app = pt.apps[i]
    debug = {
        "initiationType": "SP_INITIATED" if r & 0x100000000 else "IDP_INITIATED",
        "requestUri": app.uri,
        "signOnMode": app.mode,
        "threatSuspected": "false",
        "url": app.uri + "?",
    }
    return event(
        ms,
        r,
        s,
        "user.authentication.sso",
        "app.auth.sso",
        "User single sign on to app",
        "SUCCESS",
        None,
        "INFO",
        debug,
        [app.instance, pt.app_users[i]],
    )


def access_admin_app(ms: int, s: Sess, r: int, x: None) -> dict[str, Any]:
    debug = {
        "requestUri": "/admin/sso/request",
        "threatSuspected": "false",
        "url": "/admin/sso/request?",
    }
    target = [dict(s.actor, type="AppUser")]
    return event(
        ms,
        r,
        s,
        "user.session.access_admin_app",
        "app.admin.sso.login.success",
        "User accessing Okta admin app",
        "SUCCESS",
        None,
        "INFO",
        debug,
        target,
    )


def update_password(ms: int, s: Sess, r: int, x: None) -> dict[str, Any]:
    uri = "/idp/myaccount/password"
    debug = {"requestUri": uri, "threatSuspected": "false", "url": uri}
    pt = s.pt
    return event(
        ms,
        r,
        s,
        "user.account.update_password",
        "core.user.config.password_update.success",
        "User update password for Okta",
        "SUCCESS",
        None,
        "INFO",
        debug,
        [pt.user_target] if pt else None,
        AUTH_PASSWORD,
    )


def factor_activate(ms: int, s: Sess, r: int, x: int) -> dict[str, Any]:
    pt = s.pt
    assert pt is not None
    name = ("Okta Verify", "Google Authenticator")[x]
    uri = "/idp/idx/credential/enroll"
    debug = {"requestUri": uri, "threatSuspected": "false", "url": uri, "factor": _FACTORS[x][0]}
    target = [
        pt.user_target,
        {
            "id": pt.factors[x],
            "type": "AuthenticatorEnrollment",
            "alternateId": "unknown",
            "displayName": name,
            "detailEntry": None,
        },
    ]
    return event(
        ms,
        r,
        s,
        "user.mfa.factor.activate",
        "core.user.factor.activate",
        "Activate factor or authenticator",
        "SUCCESS",
        None,
        "INFO",
        debug,
        target,
    )


def token_grant(ms: int, s: Sess, r: int, x: tuple[int, str]) -> dict[str, Any]:
    pt = s.pt
    assert pt is not None
    app = pt.apps[x[0]]
    grant = "refresh_token" if r & 0x200000000 else "authorization_code"
    debug = {
        "grantType": grant,
        "grantedScopes": "openid, profile, email, offline_access",
        "requestedScopes": "openid profile email offline_access",
        "clientAuthType": "client_secret_basic",
        "requestUri": "/oauth2/v1/token",
        "threatSuspected": "false",
        "url": "/oauth2/v1/token?",
    }
    actor = {
        "id": app.instance["id"],
        "type": "PublicClientApp",
        "alternateId": app.label,
        "displayName": app.label,
        "detailEntry": None,
    }
    client = Sess(actor, s.dev, s.loc, s.sid, pt, app.instance["id"])
    target = [
        pt.user_target,
        {
            "id": x[1],
            "type": "AuthorizationServer",
            "alternateId": "Okta",
            "displayName": "Okta",
            "detailEntry": None,
        },
    ]
    return event(
        ms,
        r,
        client,
        "app.oauth2.as.token.grant",
        None,
        "OAuth2 access token is granted",
        "SUCCESS",
        None,
        "INFO",
        debug,
        target,
    )
