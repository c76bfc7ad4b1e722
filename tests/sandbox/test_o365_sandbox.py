"""The one-call Office 365 sandbox: its app serves the generated history and directory
through the emulator's real endpoints, its credentials are stable, and the trickle publishes
new blobs as the (fake) clock moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.sandbox.o365_conftest_helpers import signing_key

from opencasb.clock import FakeClock
from opencasb.sandbox.office365 import CONTENT_TYPES, Limits, make_certificate
from opencasb.sandbox.office365.credentials import make_client_assertion
from opencasb.sandbox.office365_sandbox import (
    O365LiveTrickle,
    O365Sandbox,
    build_o365_sandbox,
)
from opencasb.sandbox.transport import SyncASGITransport

ANCHOR = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)  # a Tuesday
BASE = "https://o365.test"
FMT = "%Y-%m-%dT%H:%M:%S"
LIMITS = Limits(
    activity_per_minute=1_000_000, shared_pool_per_minute=1_000_000, graph_per_window=1_000_000
)


@pytest.fixture(scope="module")
def sandbox() -> O365Sandbox:
    return build_o365_sandbox(
        seed=5, size=60, clock=FakeClock(ANCHOR), limits=LIMITS, signing_key=signing_key()
    )


@pytest.fixture
def client(sandbox: O365Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(sandbox.app), base_url=BASE) as c:
        yield c


def _token(client: httpx.Client, sb: O365Sandbox, resource: str) -> str:
    creds = sb.credentials
    r = client.post(
        f"/{creds.tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "grant_type": "client_credentials",
            "scope": f"{resource}/.default",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _fetch(
    client: httpx.Client, sb: O365Sandbox, token: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Every record of every blob listed in ``[start, end)``, following NextPageUri."""
    tenant = sb.credentials.tenant_id
    headers = {"Authorization": f"Bearer {token}"}
    records: list[dict[str, Any]] = []
    for content_type in CONTENT_TYPES:
        lo = start
        while lo < end:
            hi = min(lo + timedelta(hours=24), end)
            url: str | None = f"/api/v1.0/{tenant}/activity/feed/subscriptions/content"
            params: dict[str, str] | None = {
                "contentType": content_type,
                "startTime": lo.strftime(FMT),
                "endTime": hi.strftime(FMT),
                "PublisherIdentifier": tenant,
            }
            while url:
                r = client.get(url, params=params, headers=headers)
                assert r.status_code == 200, r.text
                for entry in r.json():
                    assert entry["contentType"] == content_type
                    blob = client.get(entry["contentUri"].removeprefix(BASE), headers=headers)
                    assert blob.status_code == 200, blob.text
                    records += blob.json()
                url, params = r.headers.get("NextPageUri"), None
                url = url.removeprefix(BASE) if url else None
            lo = hi
    return records


def test_content_listing_over_the_last_week_returns_the_history(
    sandbox: O365Sandbox, client: httpx.Client
) -> None:
    token = _token(client, sandbox, "https://manage.office.com")
    start = ANCHOR - timedelta(days=7)
    served = _fetch(client, sandbox, token, start, ANCHOR)
    expected = [r for r, _ in sandbox.generator.records(start, ANCHOR)]
    assert len(served) == len(expected) > 1000
    assert sorted(r["Id"] for r in served) == sorted(r["Id"] for r in expected)
    assert {r["OrganizationId"] for r in served} == {sandbox.credentials.tenant_id}


def test_graph_serves_the_directory(sandbox: O365Sandbox, client: httpx.Client) -> None:
    token = _token(client, sandbox, "https://graph.microsoft.com")
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get(
        "/v1.0/users",
        params={"$select": "id,userPrincipalName,accountEnabled,userType", "$top": "999"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    users = r.json()["value"]
    assert [u["userPrincipalName"] for u in users] == [p.email for p in sandbox.org.people]
    groups = client.get("/v1.0/groups", headers=headers).json()["value"]
    assert any(g["groupTypes"] == ["Unified"] for g in groups)
    assert set(sandbox.memberships) == {g["id"] for g in groups}


def test_the_trickle_publishes_new_blobs_as_time_passes(sandbox: O365Sandbox) -> None:
    sb = build_o365_sandbox(
        seed=5, size=60, days=1, clock=FakeClock(ANCHOR), limits=LIMITS, signing_key=signing_key()
    )
    clock = sb.state.clock
    assert isinstance(clock, FakeClock)
    trickle = O365LiveTrickle(sb, lead=timedelta(minutes=30))
    with httpx.Client(transport=SyncASGITransport(sb.app), base_url=BASE) as client:
        token = _token(client, sb, "https://manage.office.com")
        assert _fetch(client, sb, token, ANCHOR, ANCHOR + timedelta(hours=3)) == []
        published = 0
        for _ in range(12):  # three hours in 15-minute steps
            clock.advance(900)
            published += trickle.step()
        now = clock.now()
        token = _token(client, sb, "https://manage.office.com")  # the first one expired
        served = _fetch(client, sb, token, ANCHOR, now + timedelta(hours=1))
    expected = [r["Id"] for r, _ in sb.generator.records(ANCHOR, now)]
    assert sorted(r["Id"] for r in served) == sorted(expected)
    assert published >= len(expected) > 50  # the trickle published ahead, still invisible
    assert trickle.appended == published


def test_credentials_are_derived_from_the_seed() -> None:
    cert = make_certificate(now=ANCHOR)
    a = build_o365_sandbox(seed=9, size=50, days=0, clock=FakeClock(ANCHOR),
                           certificate=cert, signing_key=signing_key())  # fmt: skip
    b = build_o365_sandbox(seed=9, size=50, days=0, clock=FakeClock(ANCHOR),
                           signing_key=signing_key())  # fmt: skip
    c = build_o365_sandbox(seed=10, size=50, days=0, clock=FakeClock(ANCHOR),
                           signing_key=signing_key())  # fmt: skip
    ca, cb, cc = a.credentials, b.credentials, c.credentials
    assert (ca.tenant_id, ca.client_id, ca.client_secret) == (
        cb.tenant_id,
        cb.client_id,
        cb.client_secret,
    )
    assert ca.tenant_id != cc.tenant_id and ca.client_secret != cc.client_secret
    assert ca.domain == a.org.domain and "~" in ca.client_secret
    assert ca.thumbprint == cert.sha1_thumbprint and cb.thumbprint is None
    assertion = make_client_assertion(
        cert,
        client_id=ca.client_id,
        audience=f"https://login.microsoftonline.com/{ca.tenant_id}/oauth2/v2.0/token",
        now=ANCHOR,
    )
    with httpx.Client(transport=SyncASGITransport(a.app), base_url=BASE) as client:
        r = client.post(
            f"/{ca.tenant_id}/oauth2/v2.0/token",
            data={
                "client_id": ca.client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "grant_type": "client_credentials",
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    assert r.status_code == 200, r.text
