"""OAuth 2.0 service app: private_key_jwt client_credentials and Bearer scope checks."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import jwt
import pytest

from opencasb.sandbox.okta import generate_rsa_keypair, make_client_assertion
from opencasb.sandbox.okta.oauth import ASSERTION_TYPE

AUD = "https://org.okta.test/oauth2/v1/token"
CLIENT = "0oaservice0000000000"


@cache
def _keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@cache
def _other_keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture
def oauth_org(org):
    org.state.add_oauth_client(
        CLIENT, _keys()[1], ["okta.logs.read", "okta.users.read", "okta.users.manage"]
    )
    return org


def _token(org: Any, scope: str = "okta.logs.read", **kw: Any) -> Any:
    private = kw.pop("private", _keys()[0])
    assertion = kw.pop("assertion", None) or make_client_assertion(
        private,
        client_id=kw.pop("client_id", CLIENT),
        audience=kw.pop("aud", AUD),
        now=kw.pop("now", org.clock.now()),
        **kw,
    )
    return org.client.post(
        "/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def test_token_flow_and_bearer_use(oauth_org):
    org = oauth_org
    r = _token(org, "okta.logs.read okta.users.read")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "okta.logs.read okta.users.read"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert org.client.get("/api/v1/logs", headers=bearer).status_code == 200
    assert org.client.get("/api/v1/users", headers=bearer).status_code == 200
    # Missing scopes: groups and lifecycle.
    r = org.client.get("/api/v1/groups", headers=bearer)
    assert r.status_code == 403 and r.json()["errorCode"] == "E0000006"
    r = org.client.post("/api/v1/users/00u00000000000000002/lifecycle/suspend", headers=bearer)
    assert r.status_code == 403
    # A service app has no user: /users/me is 404.
    r = org.client.get("/api/v1/users/me", headers=bearer)
    assert r.status_code == 404 and r.json()["errorCode"] == "E0000007"
    # Tokens live one hour on the emulator's clock.
    org.clock.advance(3601)
    assert org.client.get("/api/v1/logs", headers=bearer).status_code == 401


def test_manage_scope_acts_and_logs_the_app_as_actor(oauth_org):
    org = oauth_org
    token = _token(org, "okta.users.manage okta.logs.read").json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    r = org.client.post("/api/v1/users/00u00000000000000002/lifecycle/suspend", headers=bearer)
    assert r.status_code == 200
    assert org.client.get("/api/v1/users/00u00000000000000002", headers=bearer).status_code == 200
    events = org.client.get(
        "/api/v1/logs", params={"filter": 'eventType eq "user.lifecycle.suspend"'}, headers=bearer
    ).json()
    assert events[0]["actor"]["id"] == CLIENT and events[0]["client"]["id"] == CLIENT


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"private": None}, "invalid_client"),  # signed with another key
        ({"aud": "https://evil.test/oauth2/v1/token"}, "invalid_client"),
        ({"lifetime": timedelta(seconds=-10)}, "invalid_client"),  # expired
        ({"lifetime": timedelta(hours=2)}, "invalid_client"),  # exp too far ahead
        ({"client_id": "0oaunknown"}, "invalid_client"),
        ({"assertion": "not-a-jwt"}, "invalid_client"),
        ({"scope": "okta.groups.manage"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
    ],
)
def test_token_errors(oauth_org, kwargs, error):
    kwargs = dict(kwargs)
    if "private" in kwargs:
        kwargs["private"] = _other_keys()[0]
    scope = kwargs.pop("scope", "okta.logs.read")
    r = _token(oauth_org, scope, **kwargs)
    assert r.status_code in (400, 401)
    assert r.json()["error"] == error and r.json()["error_description"]
    assert r.headers["content-type"] == "application/json"


def test_replayed_jti_is_refused(oauth_org):
    assert _token(oauth_org, jti="once").status_code == 200
    r = _token(oauth_org, jti="once")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_wrong_grant_type_and_missing_assertion(oauth_org):
    r = oauth_org.client.post("/oauth2/v1/token", data={"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"
    r = oauth_org.client.post("/oauth2/v1/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_client_registered_by_jwk(org):
    private, public = generate_rsa_keypair()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(load_pem_public_key(public.encode()), as_dict=True)
    org.state.add_oauth_client("0oajwk", jwk, ["okta.logs.read"])
    assertion = make_client_assertion(
        private, client_id="0oajwk", audience=AUD, now=org.clock.now()
    )
    assert _token(org, assertion=assertion).status_code == 200
