"""The Office 365 emulator over HTTPS on loopback, and a real MSAL client against it."""

from __future__ import annotations

import ssl
from datetime import timedelta

import httpx
import pytest
from tests.sandbox.o365_conftest_helpers import (
    CLIENT_ID,
    NOW,
    PUBLISHER,
    ROLES,
    SECRET,
    TENANT_ID,
    build_seed,
    signing_key,
)

from opencasb.clock import FakeClock
from opencasb.sandbox.office365 import (
    MANAGE_RESOURCE,
    O365State,
    create_o365_app,
    make_certificate,
)
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path):
    tls = ensure_sandbox_tls(tmp_path / "tls")
    state = O365State.from_seed(build_seed(100), clock=FakeClock(NOW), signing_key=signing_key())
    state.register_app(CLIENT_ID, roles=ROLES, secrets=[(SECRET, NOW + timedelta(days=30))])
    server = SandboxServer(create_o365_app(state), tls).start()
    try:
        yield server, tls, state
    finally:
        server.stop()


def test_token_and_content_listing_over_https(served):
    server, tls, _ = served
    ctx = ssl.create_default_context(cafile=str(tls.ca_cert))
    with httpx.Client(base_url=server.base_url, verify=ctx) as client:
        r = client.post(
            f"/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "grant_type": "client_credentials",
                "scope": f"{MANAGE_RESOURCE}/.default",
            },
        )
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = client.get(
            f"/api/v1.0/{TENANT_ID}/activity/feed/subscriptions/content",
            params={"contentType": "Audit.SharePoint", "PublisherIdentifier": PUBLISHER},
            headers=auth,
        )
        assert r.status_code == 200, r.text
        entries = r.json()
        assert entries and entries[0]["contentUri"].startswith(f"{server.base_url}/api/v1.0/")
        blob = client.get(entries[0]["contentUri"], headers=auth)
        assert blob.status_code == 200 and isinstance(blob.json(), list)


def test_msal_confidential_client_gets_a_token(served):
    msal = pytest.importorskip("msal")
    requests = pytest.importorskip("requests")
    server, tls, state = served
    session = requests.Session()
    session.verify = str(tls.ca_cert)  # trust the sandbox CA ...
    session.trust_env = False  # ... even when REQUESTS_CA_BUNDLE would override it
    try:
        app = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=SECRET,
            authority=f"{server.base_url}/{TENANT_ID}",
            http_client=session,
            # The emulator's host is not a Microsoft host: without this MSAL would ask
            # login.microsoftonline.com for instance discovery (research §1.4.5).
            instance_discovery=False,
        )
        result = app.acquire_token_for_client(scopes=[f"{MANAGE_RESOURCE}/.default"])
        assert "access_token" in result, result
        assert result["token_source"] == "identity_provider"
        again = app.acquire_token_for_client(scopes=[f"{MANAGE_RESOURCE}/.default"])
        assert again["token_source"] == "cache"
        bad = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential="wrong",
            authority=f"{server.base_url}/{TENANT_ID}",
            http_client=session,
            instance_discovery=False,
        )
        failed = bad.acquire_token_for_client(scopes=[f"{MANAGE_RESOURCE}/.default"])
        assert failed["error"] == "invalid_client"
        assert failed["error_codes"] == [7000215]
        # A certificate credential: MSAL signs the assertion for the discovered endpoint.
        cert = make_certificate("msal", now=NOW)
        state.register_app(
            "c3e7c3e7-0000-4000-8000-000000000001",
            roles=ROLES,
            certificates=[cert.certificate_pem],
        )
        with_cert = msal.ConfidentialClientApplication(
            "c3e7c3e7-0000-4000-8000-000000000001",
            client_credential={
                "private_key": cert.private_key_pem,
                "thumbprint": cert.sha1_thumbprint,
            },
            authority=f"{server.base_url}/{TENANT_ID}",
            http_client=session,
            instance_discovery=False,
        )
        result = with_cert.acquire_token_for_client(scopes=[f"{MANAGE_RESOURCE}/.default"])
        assert "access_token" in result, result
    finally:
        session.close()
