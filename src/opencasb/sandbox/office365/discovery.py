"""The metadata documents MSAL reads before it asks for a token (research §1.4.5).

- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (and the v1 document at
  ``/{tenant}/.well-known/openid-configuration``): endpoints all point back at the host the
  request came to, and name the tenant by GUID even when asked by domain — MSAL derives the
  tenant from ``token_endpoint``.
- ``GET /common/discovery/instance?authorization_endpoint=...&api-version=1.0``: instance
  discovery; answers ``tenant_discovery_endpoint`` on this host, or AADSTS50049
  ``invalid_instance`` for an authority on another, unknown host.
- ``GET /{tenant}/discovery/v2.0/keys``: the key that signs access tokens, as a JWKS.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

from opencasb.sandbox.office365.errors import AadError
from opencasb.sandbox.office365.state import O365State

__all__ = ["instance_discovery", "jwks", "openid_configuration"]

_KNOWN_HOSTS = frozenset(
    {"login.microsoftonline.com", "login.windows.net", "login.microsoftonline.us"}
)


def _tenant_or_error(state: O365State, tenant: str) -> str:
    if not state.is_tenant(tenant):
        raise AadError(
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return state.tenant_id


def openid_configuration(state: O365State, tenant: str, base: str, *, v2: bool) -> dict[str, Any]:
    """The OpenID Provider metadata for ``tenant`` as served from ``base``."""
    tid = _tenant_or_error(state, tenant)
    oauth = f"{base}/{tid}/oauth2/v2.0" if v2 else f"{base}/{tid}/oauth2"
    doc: dict[str, Any] = {
        "token_endpoint": f"{oauth}/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys" if v2 else f"{base}/common/discovery/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tid}/v2.0" if v2 else f"https://sts.windows.net/{tid}/",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{oauth}/authorize",
        "device_authorization_endpoint": f"{oauth}/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{oauth}/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    if not v2:
        doc["kerberos_endpoint"] = f"{base}/{tid}/kerberos"
    return doc


def instance_discovery(
    state: O365State, authorization_endpoint: str | None, base: str
) -> dict[str, Any]:
    """The instance-discovery answer for an authority's ``authorization_endpoint``."""
    if not authorization_endpoint:
        raise AadError(
            "invalid_request", 90014, "The required field 'authorization_endpoint' is missing."
        )
    parts = urlsplit(authorization_endpoint)
    here = urlsplit(base).netloc
    if parts.netloc != here and parts.hostname not in _KNOWN_HOSTS:
        raise AadError(
            "invalid_instance",
            50049,
            "Unknown or invalid instance.",
        )
    tenant = parts.path.strip("/").split("/")[0] or "common"
    return {
        "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": here, "preferred_cache": here, "aliases": [here]}],
    }


def _b64_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwks(state: O365State) -> dict[str, Any]:
    """The signing key as a JSON Web Key Set."""
    numbers = state.signing_key.public_key().public_numbers()
    key = {
        "kty": "RSA",
        "use": "sig",
        "kid": state.key_id,
        "x5t": state.key_id,
        "n": _b64_int(numbers.n),
        "e": _b64_int(numbers.e),
    }
    return {"keys": [key]}
