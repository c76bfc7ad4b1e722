"""Azure AD (login host) handlers: the two token endpoints and the discovery documents.

These take the parsed request and return a JSON-able body; they are unauthenticated and raise
:class:`AadError` for anything Azure AD would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencasb.sandbox.office365.aad import issue_token
from opencasb.sandbox.office365.discovery import instance_discovery, jwks, openid_configuration
from opencasb.sandbox.office365.state import O365State

__all__ = ["AAD_ROUTES", "AadRequest"]


class AadRequest:
    """What an Azure AD handler needs: the state, path/query/form fields and the base URL."""

    def __init__(
        self,
        state: O365State,
        path: Mapping[str, str],
        query: Mapping[str, str],
        form: Mapping[str, str],
        base: str,
    ) -> None:
        self.state = state
        self.path = path
        self.query = query
        self.form = form
        self.base = base


def _token_v2(req: AadRequest) -> dict[str, Any]:
    return issue_token(req.state, req.form, tenant=req.path["tenant"], version="v2", base=req.base)


def _token_v1(req: AadRequest) -> dict[str, Any]:
    return issue_token(req.state, req.form, tenant=req.path["tenant"], version="v1", base=req.base)


def _oidc_v2(req: AadRequest) -> dict[str, Any]:
    return openid_configuration(req.state, req.path["tenant"], req.base, v2=True)


def _oidc_v1(req: AadRequest) -> dict[str, Any]:
    return openid_configuration(req.state, req.path["tenant"], req.base, v2=False)


def _instance(req: AadRequest) -> dict[str, Any]:
    return instance_discovery(req.state, req.query.get("authorization_endpoint"), req.base)


def _keys(req: AadRequest) -> dict[str, Any]:
    return jwks(req.state)


# (path, method, handler); the literal "common" paths come before the "{tenant}" ones.
AAD_ROUTES = (
    ("/common/discovery/instance", "GET", _instance),
    ("/common/discovery/keys", "GET", _keys),
    ("/{tenant}/discovery/v2.0/keys", "GET", _keys),
    ("/{tenant}/v2.0/.well-known/openid-configuration", "GET", _oidc_v2),
    ("/{tenant}/.well-known/openid-configuration", "GET", _oidc_v1),
    ("/{tenant}/oauth2/v2.0/token", "POST", _token_v2),
    ("/{tenant}/oauth2/token", "POST", _token_v1),
)
