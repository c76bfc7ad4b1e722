"""The emulated Azure AD token endpoints: client_credentials with a secret or a certificate.

``POST /{tenant}/oauth2/v2.0/token`` takes ``scope={resource}/.default``; the v1
``POST /{tenant}/oauth2/token`` takes ``resource=``; v1 answers numbers as strings (research
§1.4.2-1.4.3). A certificate credential is an RS256/PS256 client assertion whose header names
a registered certificate by ``x5t`` (SHA-1) or ``x5t#S256`` thumbprint; the emulator checks
the signature, ``aud`` (the token endpoint), ``iss == sub == client_id``, ``exp``/``nbf``
against its clock (5 minutes of skew allowed) and requires a ``jti`` (a repeated one is
accepted while the assertion is valid, as MSAL re-sends one assertion until it expires).

Errors are :class:`AadError` with the AADSTS number Azure AD uses for the same mistake.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import jwt

from opencasb.sandbox.office365.errors import AadError
from opencasb.sandbox.office365.state import (
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    AppRegistration,
    O365State,
)
from opencasb.sandbox.office365.tokens import issue_access_token

__all__ = ["ASSERTION_TYPE", "RESOURCES", "issue_token"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RESOURCES = frozenset({MANAGE_RESOURCE, GRAPH_RESOURCE})
_RESOURCE_ALIASES = {"00000003-0000-0000-c000-000000000000": GRAPH_RESOURCE}
_RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
_SKEW = 300  # seconds of clock skew Azure AD tolerates on assertion times
_REAL_LOGIN_HOSTS = ("https://login.microsoftonline.com", "https://login.windows.net")


def _missing(name: str) -> AadError:
    return AadError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _resource_of(state: O365State, form: Mapping[str, str], version: str) -> str:
    if version == "v1":
        raw = form.get("resource", "")
        if not raw:
            raise _missing("resource")
    else:
        scopes = [s for s in form.get("scope", "").split() if s not in _RESERVED_SCOPES]
        if not scopes:
            raise _missing("scope")
        if len(scopes) > 1:
            raise AadError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. The scope "
                f"{' '.join(scopes)} is not valid. static scope limit exceeded.",
            )
        if not scopes[0].endswith("/.default"):
            raise AadError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scopes[0]} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource "
                "identifier (application ID URI).",
            )
        raw = scopes[0][: -len("/.default")]
    resource = _RESOURCE_ALIASES.get(raw.rstrip("/"), raw.rstrip("/"))
    if resource not in RESOURCES:
        raise AadError(
            "invalid_resource",
            500011,
            f"The resource principal named {raw} was not found in the tenant named "
            f"{state.display_name}. This can happen if the application has not been installed "
            "by the administrator of the tenant or consented to by any user in the tenant. You "
            "might have sent your authentication request to the wrong tenant.",
        )
    return resource


def _check_secret(state: O365State, app: AppRegistration, secret: str) -> None:
    now = state.clock.now()
    for known in app.secrets:
        if known.value == secret:
            if known.expires_at <= now:
                raise AadError(
                    "invalid_client",
                    7000222,
                    f"The provided client secret keys for app '{app.client_id}' are expired. "
                    "Visit the Azure portal to create new keys for your app: "
                    "https://aka.ms/NewClientSecret, or consider using certificate credentials "
                    "for added security: https://aka.ms/certCreds.",
                    401,
                )
            return
    raise AadError(
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app "
        f"'{app.client_id}'.",
        401,
    )


def _thumbprint(header: Mapping[str, Any]) -> str:
    for name in ("x5t#S256", "x5t"):
        value = header.get(name)
        if isinstance(value, str) and value:
            try:
                return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
            except (binascii.Error, ValueError):
                break
    return ""


def _bad_signature(reason: str) -> AadError:
    return AadError(
        "invalid_client",
        700027,
        f"Client assertion contains an invalid signature. [Reason - {reason}]",
        401,
    )


def _check_assertion(
    state: O365State, app: AppRegistration, assertion: str, audiences: set[str]
) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AadError("invalid_client", 50027, "JWT token is invalid or malformed.", 401) from None
    thumb = _thumbprint(header)
    key = app.certificates.get(thumb)
    if key is None:
        raise _bad_signature(
            f"The key was not found., Thumbprint of key used by client: '{thumb.upper()}', "
            f"Please visit the Azure Portal to see configured keys for app Id "
            f"'{app.client_id}'."
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key,
            algorithms=["RS256", "PS256"],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError:
        raise _bad_signature(
            "The provided signature value did not match the expected signature value."
        ) from None
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise AadError(
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. "
            "Review the documentation at https://docs.microsoft.com/en-us/azure/"
            "active-directory/develop/active-directory-certificate-credentials .",
            401,
        )
    if claims.get("aud") not in audiences:
        raise AadError(
            "invalid_client",
            700023,
            f"Client assertion audience claim does not match Realm issuer. Review the "
            f"documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop"
            f"/active-directory-certificate-credentials . (aud: {claims.get('aud')})",
            401,
        )
    now = state.clock.now().timestamp()
    exp, nbf = int(claims.get("exp", 0)), int(claims.get("nbf", 0))
    if exp + _SKEW <= now or nbf - _SKEW > now:

        def fmt(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).strftime("%m/%d/%Y %H:%M:%S")

        raise AadError(
            "invalid_client",
            700024,
            f"Client assertion is not within its valid time range. Current time: {fmt(now)}, "
            f"assertion valid from {fmt(nbf)}, expiry time of assertion {fmt(exp)}.",
            401,
        )
    jti = str(claims.get("jti") or "")
    if not jti:
        # Emulator's choice of number: Azure AD's "invalid assertion" family.
        raise AadError(
            "invalid_client",
            50013,
            "Assertion failed signature validation. [Reason - The assertion has no jti.]",
            401,
        )
    # A repeated jti is accepted until the assertion expires: MSAL itself re-sends one signed
    # assertion for every token request until it nears expiry (its "regenerative"
    # assertion), and it works against Azure AD, so Azure AD does not refuse the reuse.
    with state.lock:
        for old in [j for j, e in state.used_jtis.items() if e + _SKEW < now]:
            del state.used_jtis[old]  # forget expired jtis so the table stays small
        state.used_jtis[jti] = exp


def issue_token(
    state: O365State,
    form: Mapping[str, str],
    *,
    tenant: str,
    version: Literal["v1", "v2"],
    base: str,
) -> dict[str, Any]:
    """Handle one token request (its form fields); return the token response body."""
    if not state.is_tenant(tenant):
        raise AadError(
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription "
            "administrator, this may happen if there are no active subscriptions for the "
            "tenant.",
        )
    grant = form.get("grant_type", "")
    if not grant:
        raise _missing("grant_type")
    if grant != "client_credentials":
        raise AadError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )
    client_id = form.get("client_id", "")
    if not client_id:
        raise _missing("client_id")
    resource = _resource_of(state, form, version)
    app = state.apps.get(client_id)
    if app is None:
        raise AadError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{state.display_name}'. This can happen if the application has not been installed "
            "by the administrator of the tenant or consented to by any user in the tenant. You "
            "may have sent your authentication request to the wrong tenant.",
        )
    certificate = False
    if form.get("client_secret"):
        _check_secret(state, app, form["client_secret"])
    elif form.get("client_assertion"):
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AadError(
                "invalid_request",
                50027,
                "The client_assertion_type must be "
                "'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.",
            )
        audiences = {
            f"{host}/{t}/oauth2/{path}"
            for host in (base, *_REAL_LOGIN_HOSTS)
            for t in (tenant, state.tenant_id, state.domain)
            for path in ("token", "v2.0/token")
        }
        _check_assertion(state, app, form["client_assertion"], audiences)
        certificate = True
    else:
        raise AadError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            401,
        )
    token, nbf, exp = issue_access_token(state, app, resource, certificate=certificate)
    lifetime = exp - nbf
    if version == "v2":
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
    # v1 sends every number as a string (research §1.4.2).
    return {
        "token_type": "Bearer",
        "expires_in": str(lifetime),
        "ext_expires_in": str(lifetime),
        "expires_on": str(exp),
        "not_before": str(nbf),
        "resource": resource,
        "access_token": token,
    }
