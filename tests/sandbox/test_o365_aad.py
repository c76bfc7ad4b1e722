"""Emulated Azure AD: token endpoints (v1/v2, secret/certificate), errors, discovery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import cache

import jwt
import pytest
from tests.sandbox.o365_conftest_helpers import (
    BASE,
    CLIENT_ID,
    DOMAIN,
    EXPIRED_SECRET,
    NOW,
    SECRET,
    TENANT_ID,
    Tenant,
    make_tenant,
    signing_key,
)

from opencasb.sandbox.office365 import (
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    AppCertificate,
    make_certificate,
    make_client_assertion,
)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
V2 = f"/{TENANT_ID}/oauth2/v2.0/token"
V1 = f"/{TENANT_ID}/oauth2/token"
CERT_APP = "9a8b7c6d-0000-4000-8000-00000000c3e7"


@cache
def _cert() -> AppCertificate:
    return make_certificate("opencasb-test", now=NOW)


@cache
def _other_cert() -> AppCertificate:
    return make_certificate("unregistered", now=NOW)


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    gen = make_tenant()
    t = next(gen)
    t.state.register_app(
        CERT_APP,
        roles={MANAGE_RESOURCE: ["ActivityFeed.Read"]},
        certificates=[_cert().certificate_pem],
    )
    yield t
    gen.close()


def _secret_form(**kw: str) -> dict[str, str]:
    form = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "grant_type": "client_credentials",
        "scope": "https://manage.office.com/.default",
    }
    form.update(kw)
    return form


def _assertion_form(assertion: str, **kw: str) -> dict[str, str]:
    form = {
        "client_id": CERT_APP,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "grant_type": "client_credentials",
        "scope": "https://manage.office.com/.default",
    }
    form.update(kw)
    return form


def _claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_v2_secret_token_has_the_resource_roles_and_tenant(tenant):
    r = tenant.client.post(V2, data=_secret_form(client_info="1"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    claims = _claims(body["access_token"])
    assert claims["aud"] == MANAGE_RESOURCE and claims["tid"] == TENANT_ID
    assert claims["roles"] == ["ActivityFeed.Read", "ActivityFeed.ReadDlp"]
    assert claims["appid"] == CLIENT_ID and claims["appidacr"] == "1"
    assert claims["iss"] == f"https://sts.windows.net/{TENANT_ID}/"
    assert claims["exp"] == int(NOW.timestamp()) + 3599
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"] == header["x5t"]
    # Verifiable with the published key set.
    keys = tenant.client.get(f"/{TENANT_ID}/discovery/v2.0/keys").json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    opts = {"verify_exp": False}  # the token lives on the emulator's clock, not the wall clock
    assert jwt.decode(body["access_token"], key, ["RS256"], audience=MANAGE_RESOURCE, options=opts)
    # Graph scope: the Graph roles.
    r = tenant.client.post(V2, data=_secret_form(scope="https://graph.microsoft.com/.default"))
    claims = _claims(r.json()["access_token"])
    assert claims["aud"] == GRAPH_RESOURCE and "User.ReadWrite.All" in claims["roles"]


def test_v1_resource_token_sends_numbers_as_strings_and_accepts_the_domain(tenant):
    form = _secret_form()
    del form["scope"]
    form["resource"] = "https://manage.office.com"
    r = tenant.client.post(f"/{DOMAIN}/oauth2/token", data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires_in"] == "3599" and body["resource"] == MANAGE_RESOURCE
    assert int(body["expires_on"]) - int(body["not_before"]) == 3599
    assert _claims(body["access_token"])["tid"] == TENANT_ID


def _error(r, status: int, code: int, error: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert str(body["error_description"]).startswith(f"AADSTS{code}: ")
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert body[key]
    assert "Trace ID: " in body["error_description"]
    return body


def test_secret_errors(tenant):
    body = _error(tenant.client.post(V2, data=_secret_form(client_secret="nope")), 401, 7000215,
                  "invalid_client")  # fmt: skip
    assert str(body["error_description"]).startswith(
        "AADSTS7000215: Invalid client secret provided."
    )
    assert "nope" not in str(body)  # the secret is never echoed
    _error(tenant.client.post(V2, data=_secret_form(client_secret=EXPIRED_SECRET)), 401, 7000222,
           "invalid_client")  # fmt: skip
    unknown = "11111111-2222-3333-4444-555555555555"
    _error(tenant.client.post(V2, data=_secret_form(client_id=unknown)), 400, 700016,
           "unauthorized_client")  # fmt: skip
    _error(tenant.client.post("/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token",
                              data=_secret_form()), 400, 90002, "invalid_request")  # fmt: skip
    form = _secret_form()
    del form["client_secret"]
    _error(tenant.client.post(V2, data=form), 401, 7000218, "invalid_client")
    _error(tenant.client.post(V2, data=_secret_form(scope="https://manage.office.com/Read")),
           400, 1002012, "invalid_scope")  # fmt: skip
    _error(tenant.client.post(V2, data=_secret_form(scope="https://example.com/.default")),
           400, 500011, "invalid_resource")  # fmt: skip
    _error(tenant.client.post(V2, data=_secret_form(grant_type="password")), 400, 70003,
           "unsupported_grant_type")  # fmt: skip


def _assert(cert: AppCertificate | None = None, **kw: object) -> str:
    params: dict[str, object] = {
        "client_id": CERT_APP,
        "audience": f"{BASE}/{TENANT_ID}/oauth2/v2.0/token",
        "now": NOW,
    }
    params.update(kw)
    return make_client_assertion(cert or _cert(), **params)  # type: ignore[arg-type]


def test_certificate_assertion_v1_and_v2_and_reuse(tenant):
    r = tenant.client.post(V2, data=_assertion_form(_assert(jti="jti-1")))
    assert r.status_code == 200, r.text
    assert _claims(r.json()["access_token"])["appidacr"] == "2"
    # The same assertion again, as MSAL re-sends it until it expires: accepted.
    r = tenant.client.post(V2, data=_assertion_form(_assert(jti="jti-1")))
    assert r.status_code == 200, r.text
    # x5t#S256 / PS256 (what MSAL sends for a PFX), v1 endpoint and v1 audience.
    assertion = _assert(audience=f"https://login.windows.net/{TENANT_ID}/oauth2/token", sha256=True)
    form = _assertion_form(assertion, resource=MANAGE_RESOURCE)
    del form["scope"]
    r = tenant.client.post(V1, data=form)
    assert r.status_code == 200, r.text


def test_certificate_assertion_errors(tenant):
    post = tenant.client.post
    other = _other_cert()
    _error(post(V2, data=_assertion_form(_assert(other))), 401, 700027, "invalid_client")
    _error(post(V2, data=_assertion_form(_assert(audience="https://elsewhere/token"))), 401,
           700023, "invalid_client")  # fmt: skip
    _error(post(V2, data=_assertion_form(_assert(client_id=CLIENT_ID))), 401, 700021,
           "invalid_client")  # fmt: skip
    _error(post(V2, data=_assertion_form(_assert(now=NOW - timedelta(hours=2)))), 401, 700024,
           "invalid_client")  # fmt: skip
    _error(post(V2, data=_assertion_form(_assert(now=NOW + timedelta(hours=2)))), 401, 700024,
           "invalid_client")  # fmt: skip
    # A signature made by a different key under the registered thumbprint.
    forged = AppCertificate(other.private_key_pem, _cert().certificate_pem,
                            _cert().sha1_thumbprint, _cert().sha256_thumbprint)  # fmt: skip
    body = _error(post(V2, data=_assertion_form(_assert(forged))), 401, 700027, "invalid_client")
    assert "signature" in str(body["error_description"])


def test_discovery_documents_point_back_at_the_emulator(tenant):
    r = tenant.client.get(f"/{DOMAIN}/v2.0/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    assert doc["token_endpoint"] == f"{BASE}/{TENANT_ID}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{BASE}/{TENANT_ID}/oauth2/v2.0/authorize"
    assert doc["jwks_uri"] == f"{BASE}/{TENANT_ID}/discovery/v2.0/keys"
    v1 = tenant.client.get(f"/{TENANT_ID}/.well-known/openid-configuration").json()
    assert v1["token_endpoint"] == f"{BASE}/{TENANT_ID}/oauth2/token"
    r = tenant.client.get("/nosuchtenant.example/v2.0/.well-known/openid-configuration")
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]
    r = tenant.client.get(
        "/common/discovery/instance",
        params={"authorization_endpoint": f"{BASE}/{TENANT_ID}/oauth2/v2.0/authorize",
                "api-version": "1.0"},
    )  # fmt: skip
    assert r.status_code == 200
    assert r.json()["tenant_discovery_endpoint"] == (
        f"{BASE}/{TENANT_ID}/v2.0/.well-known/openid-configuration"
    )
    r = tenant.client.get(
        "/common/discovery/instance",
        params={"authorization_endpoint": "https://evil.example/t/oauth2/v2.0/authorize"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_instance"


def test_shared_signing_key_is_used(tenant):
    assert tenant.state.signing_key is signing_key()
