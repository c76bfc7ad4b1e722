"""Management Activity API: subscriptions, content listing and paging, blobs, tenant states,
throttling and the realism of the published content."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.sandbox.o365_conftest_helpers import (
    CLIENT_ID,
    FEED,
    NOW,
    PUBLISHER,
    TENANT_ID,
    Tenant,
    build_seed,
    make_tenant,
)

from opencasb.clock import utc
from opencasb.sandbox.office365 import GRAPH_RESOURCE, Limits, O365Seed, runtime_of

FMT = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    yield from make_tenant()


@pytest.fixture
def tenant_factory() -> Iterator[Any]:
    gens: list[Iterator[Tenant]] = []

    def factory(seed: O365Seed | None = None, **kw: Any) -> Tenant:
        gen = make_tenant(seed, **kw)
        gens.append(gen)
        return next(gen)

    yield factory
    for gen in gens:
        gen.close()


def _error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    return str(err["message"])


def _all_pages(t: Tenant, token: str, content_type: str, start: datetime, end: datetime):
    entries, pages = [], 0
    r = t.feed("GET", "subscriptions/content", token, contentType=content_type,
               startTime=start.strftime(FMT), endTime=end.strftime(FMT),
               PublisherIdentifier=PUBLISHER)  # fmt: skip
    while True:
        assert r.status_code == 200, r.text
        entries += r.json()
        pages += 1
        nxt = r.headers.get("NextPageUri")
        if not nxt:
            return entries, pages
        r = t.client.get(nxt, headers={"Authorization": f"Bearer {token}"})


def test_subscriptions_start_list_stop(tenant_factory):
    seed = build_seed(50)
    seed.subscriptions = ()
    t = tenant_factory(seed)
    tok = t.token()
    assert t.feed("GET", "subscriptions/list", tok).json() == []
    r = t.feed("POST", "subscriptions/start", tok, contentType="Audit.SharePoint",
               PublisherIdentifier=PUBLISHER)  # fmt: skip
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == {"contentType": "Audit.SharePoint", "status": "enabled", "webhook": None}
    # Already enabled, nothing changes: 400 AF20024 with the exact text.
    r = t.feed("POST", "subscriptions/start", tok, contentType="Audit.SharePoint")
    assert _error(r, 400, "AF20024") == "The subscription is already enabled. No property change."
    # A webhook changes a property: accepted.
    hook = {"webhook": {"address": "https://hooks.example/o365", "authId": "x", "expiration": ""}}
    r = t.client.post(f"{FEED}/subscriptions/start", params={"contentType": "Audit.SharePoint"},
                      json=hook, headers={"Authorization": f"Bearer {tok}"})  # fmt: skip
    assert r.json()["webhook"]["address"] == "https://hooks.example/o365"
    r = t.client.post(f"{FEED}/subscriptions/start", params={"contentType": "Audit.Exchange"},
                      json={"webhook": {"address": "http://plain"}},
                      headers={"Authorization": f"Bearer {tok}"})  # fmt: skip
    _error(r, 400, "AF20021")
    listed = t.feed("GET", "subscriptions/list", tok).json()
    assert [s["contentType"] for s in listed] == ["Audit.SharePoint"]
    r = t.feed("POST", "subscriptions/stop", tok, contentType="Audit.SharePoint")
    assert r.status_code == 200 and r.content == b""
    assert t.feed("GET", "subscriptions/list", tok).json()[0]["status"] == "disabled"
    r = t.feed("GET", "subscriptions/content", tok, contentType="Audit.SharePoint")
    _error(r, 400, "AF20022")
    _error(t.feed("POST", "subscriptions/start", tok, contentType="Audit.Nope"), 400, "AF20020")
    _error(t.feed("POST", "subscriptions/start", tok), 400, "AF20001")


def test_new_subscription_only_sees_content_published_after_it(tenant_factory):
    seed = build_seed(200)
    seed.subscriptions = ()
    t = tenant_factory(seed)
    tok = t.token()
    t.feed("POST", "subscriptions/start", tok, contentType="Audit.AzureActiveDirectory")
    entries, _ = _all_pages(t, tok, "Audit.AzureActiveDirectory", NOW - timedelta(hours=24), NOW)
    assert entries == []
    t.clock.advance(4 * 3600)  # blobs published after the start become visible
    later, tok = t.clock.now(), t.token()
    entries, _ = _all_pages(
        t, tok, "Audit.AzureActiveDirectory", later - timedelta(hours=24), later
    )
    assert entries and all(e["contentCreated"] >= NOW.strftime(FMT) for e in entries)


def test_windows_are_checked(tenant):
    tok = tenant.token()

    def content(**kw: str) -> httpx.Response:
        return tenant.feed("GET", "subscriptions/content", tok, contentType="Audit.Exchange", **kw)

    end = NOW.strftime(FMT)
    _error(
        content(startTime=(NOW - timedelta(hours=25)).strftime(FMT), endTime=end), 400, "AF20055"
    )
    old = NOW - timedelta(days=8)
    _error(content(startTime=old.strftime(FMT), endTime=(old + timedelta(hours=1)).strftime(FMT)),
           400, "AF20055")  # fmt: skip
    _error(content(startTime=end, endTime=(NOW - timedelta(hours=1)).strftime(FMT)), 400, "AF20055")
    _error(content(startTime=end), 400, "AF20030")
    _error(content(startTime="yesterday", endTime=end), 400, "AF20002")
    _error(content(nextPage="garbage"), 400, "AF20031")
    # The three documented formats, and the Z / fraction forms real clients send.
    for start in (
        "2026-10-31",
        "2026-10-31T12:00",
        "2026-10-31T12:00:00",
        "2026-10-31T12:00:00.000Z",
    ):
        assert content(startTime=start, endTime="2026-11-01").status_code == 200
    # Omitted: the last 24 hours. A future end time is fine.
    assert content().status_code == 200
    future = (NOW + timedelta(hours=3)).strftime(FMT)
    after_now = (NOW + timedelta(seconds=1)).strftime(FMT)
    assert content(startTime=after_now, endTime=future).json() == []
    # 7 days back with the hour of grace beats relies on.
    edge = NOW - timedelta(days=7, minutes=30)
    r = content(startTime=edge.strftime(FMT), endTime=(edge + timedelta(hours=24)).strftime(FMT))
    assert r.status_code == 200


def test_paging_returns_every_visible_blob_exactly_once(tenant_factory):
    t = tenant_factory(limits=Limits(content_page_size=7))
    tok = t.token()
    seen: list[str] = []
    total_pages = 0
    for day in range(7):
        end = NOW - timedelta(days=day)
        for ct in ("Audit.AzureActiveDirectory", "Audit.SharePoint", "Audit.Exchange",
                   "Audit.General", "DLP.All"):  # fmt: skip
            entries, pages = _all_pages(t, tok, ct, end - timedelta(hours=24), end)
            total_pages += pages
            for e in entries:
                assert e["contentType"] == ct
                created = utc(datetime.fromisoformat(e["contentCreated"]))
                assert end - timedelta(hours=24) <= created < end and created <= NOW
                expires = utc(datetime.fromisoformat(e["contentExpiration"]))
                assert expires - created == timedelta(days=7)
                assert e["contentUri"].endswith(f"/activity/feed/audit/{e['contentId']}")
            seen += [e["contentId"] for e in entries]
    assert total_pages > 40  # paging really happened
    assert len(seen) == len(set(seen))
    visible = {b.content_id for b in t.state.blobs.all_blobs()
               if NOW - timedelta(days=7) <= b.created < NOW}  # fmt: skip
    assert set(seen) == visible
    hidden = [b for b in t.state.blobs.all_blobs() if b.created > NOW]
    assert hidden, "the seed publishes some blobs after NOW"
    # Not fetchable before publication either.
    r = t.feed("GET", f"audit/{hidden[0].content_id}", tok)
    _error(r, 404, "AF20050")
    t.clock.advance((hidden[0].created - NOW).total_seconds())
    assert t.feed("GET", f"audit/{hidden[0].content_id}").status_code == 200


def test_next_page_uri_follows_the_docs_shape(tenant_factory):
    t = tenant_factory(limits=Limits(content_page_size=2))
    tok = t.token()
    r = t.feed("GET", "subscriptions/content", tok, contentType="Audit.SharePoint",
               publisherIdentifier=PUBLISHER)  # fmt: skip
    nxt = httpx.URL(r.headers["NextPageUri"])
    assert str(nxt).startswith(f"https://o365.test/api/v1.0/{TENANT_ID}/activity/feed/")
    assert nxt.params["nextPage"] and nxt.params["startTime"] and nxt.params["endTime"]
    assert nxt.params["publisherIdentifier"] == PUBLISHER
    # /api/v1/ (the docs' example) is served too.
    legacy = str(nxt).replace("/api/v1.0/", "/api/v1/")
    assert t.client.get(legacy, headers={"Authorization": f"Bearer {tok}"}).status_code == 200


def test_blobs_hold_real_shaped_records_with_the_documented_quirks(tenant):
    tok = tenant.token()
    ids: Counter[str] = Counter()
    out_of_order = string_numbers = ported_ips = 0
    entries = []
    for ct in ("Audit.AzureActiveDirectory", "Audit.SharePoint", "Audit.Exchange"):
        for day in range(6):
            end = NOW - timedelta(days=day)
            entries += _all_pages(tenant, tok, ct, end - timedelta(hours=24), end)[0]
    for e in entries:
        r = tenant.client.get(e["contentUri"], headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 200
        records = r.json()
        assert isinstance(records, list) and records
        times = [rec["CreationTime"] for rec in records]
        assert all(len(x) == 19 and not x.endswith("Z") for x in times)
        out_of_order += times != sorted(times)
        created = utc(datetime.fromisoformat(e["contentCreated"]))
        assert all(utc(datetime.fromisoformat(x)) < created for x in times)
        for rec in records:
            ids[rec["Id"]] += 1
            string_numbers += isinstance(rec["RecordType"], str)
            ip = str(rec.get("ClientIP"))
            ported_ips += ip.startswith("[") or ip.count(":") == 1
    quirks = (out_of_order, string_numbers, ported_ips, sum(n > 1 for n in ids.values()))
    assert all(n > 0 for n in quirks), quirks


def test_duplicates_across_blobs_exist_in_the_seed(tenant):
    counts = Counter(
        rec_id
        for blob in tenant.state.blobs.all_blobs()
        for rec_id in {r[r.index(b'"Id":"') + 6 :][:36] for r in blob.records}
    )
    assert any(n > 1 for n in counts.values())


def test_expired_and_malformed_blobs(tenant):
    tok = tenant.token()
    blob = next(b for b in tenant.state.blobs.all_blobs() if b.created <= NOW)
    assert tenant.feed("GET", f"audit/{blob.content_id}", tok).status_code == 200
    tenant.clock.advance((blob.expiration - NOW).total_seconds())
    tok = tenant.token()
    msg = _error(tenant.feed("GET", f"audit/{blob.content_id}", tok), 400, "AF20051")
    assert "Content older than 7 days cannot be retrieved." in msg
    _error(tenant.feed("GET", "audit/not-an-id", tok), 400, "AF20052")
    unknown = "20261101120000000999999$20261101120000000999999$audit_exchange$Audit_Exchange"
    _error(tenant.feed("GET", f"audit/{unknown}", tok), 404, "AF20050")


def test_dlp_detections_need_read_dlp(tenant):
    tok = tenant.token()
    entries, _ = _all_pages(tenant, tok, "DLP.All", NOW - timedelta(hours=24), NOW)
    uri = entries[0]["contentUri"]
    full = tenant.client.get(uri, headers={"Authorization": f"Bearer {tok}"}).json()
    assert "SensitiveInformationDetections" in str(full)
    app = tenant.state.apps[CLIENT_ID]
    app.roles["https://manage.office.com"] = frozenset({"ActivityFeed.Read"})
    limited = tenant.client.get(uri, headers={"Authorization": f"Bearer {tenant.token()}"}).json()
    assert "SensitiveInformationDetections" not in str(limited)
    assert all(rec["SensitiveInfoDetectionIsIncluded"] is False for rec in limited)


def test_tenant_states_unlicensed_and_auditing_off(tenant):
    tok = tenant.token()
    tenant.state.licensed = False
    msg = _error(tenant.feed("GET", "subscriptions/list", tok), 400, "AF20012")
    assert TENANT_ID in msg
    tenant.state.licensed = True
    tenant.state.auditing_enabled = False
    r = tenant.feed("GET", "subscriptions/content", tok, contentType="Audit.Exchange")
    assert _error(r, 400, "AF20023") == "The subscription was disabled by a tenant admin."
    tenant.feed("POST", "subscriptions/stop", tok, contentType="Audit.Exchange")
    r = tenant.feed("POST", "subscriptions/start", tok, contentType="Audit.Exchange")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"].startswith("StartSubscription [CorrId=")
    assert f"Tenant {TENANT_ID} does not exist." in err["message"]


def test_authentication_and_authorization(tenant):
    r = tenant.client.get(f"{FEED}/subscriptions/list")
    assert r.status_code == 401 and "www-authenticate" in r.headers
    graph_token = tenant.token(GRAPH_RESOURCE)
    assert tenant.feed("GET", "subscriptions/list", graph_token).status_code == 401
    other = "/api/v1.0/11111111-2222-3333-4444-555555555555/activity/feed/subscriptions/list"
    r = tenant.client.get(other, headers={"Authorization": f"Bearer {tenant.token()}"})
    _error(r, 401, "AF20010")
    r = tenant.client.get("/api/v1.0/contoso/activity/feed/subscriptions/list",
                          headers={"Authorization": f"Bearer {tenant.token()}"})  # fmt: skip
    _error(r, 400, "AF20013")
    tenant.state.apps[next(iter(tenant.state.apps))].roles["https://manage.office.com"] = (
        frozenset()
    )
    _error(tenant.feed("GET", "subscriptions/list", tenant.token()), 403, "AF10001")
    # Tokens expire on the emulator's clock.
    tok = tenant.token()
    tenant.clock.advance(3600)
    assert tenant.feed("GET", "subscriptions/list", tok).status_code == 401


def test_throttling_per_publisher_pool_with_retry_after(tenant_factory):
    t = tenant_factory(limits=Limits(activity_per_minute=5, shared_pool_per_minute=3))
    tok = t.token()
    for _ in range(5):
        r = t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER.upper())
        assert r.status_code == 200
    # Same pool whatever the case of the name or the value.
    r = t.feed("GET", "subscriptions/list", tok, publisheridentifier=PUBLISHER)
    msg = _error(r, 429, "AF429")
    assert msg == f"Too many requests. Method=ListSubscriptions, PublisherId={PUBLISHER}"
    assert r.headers["Retry-After"] == "60"
    # Requests without a PublisherIdentifier use the shared pool.
    for _ in range(3):
        assert t.feed("GET", "subscriptions/list", tok).status_code == 200
    r = t.feed("GET", "subscriptions/list", tok)
    assert "PublisherId=00000000-0000-0000-0000-000000000000" in _error(r, 429, "AF429")
    t.clock.advance(45)
    r = t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER)
    assert r.headers["Retry-After"] == "15"
    t.clock.advance(15)
    assert (
        t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER).status_code == 200
    )
    # The FAQ's 403 form is a switch away.
    runtime_of(t.app).limits.throttle_status = 403
    for _ in range(5):
        t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER)
    _error(t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER), 403, "AF429")


def test_responses_carry_the_service_headers(tenant):
    r = tenant.feed("GET", "subscriptions/list")
    assert r.headers["cache-control"] == "no-cache" and r.headers["expires"] == "-1"
    assert r.headers["date"] == "Sun, 01 Nov 2026 12:00:00 GMT"
