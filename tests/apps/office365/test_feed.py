"""The content feeds against the emulator: exact backfill, resume from any cursor, late
blobs, gaps that are shown, hostile paging headers and the request budget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from tests.apps.office365.conftest import visible_ids
from tests.sandbox.o365_conftest_helpers import Tenant, build_seed

from opencasb.apps.base import Cursor, Feed, Page
from opencasb.apps.office365.connector import Office365Connector
from opencasb.apps.office365.feed import ContentFeed
from opencasb.errors import ConnectorError, UnsafeResponse
from opencasb.sandbox.office365 import Faults
from opencasb.sandbox.office365.ratelimit import Limits

Connect = Callable[..., Office365Connector]


def _drain(feed: Feed, cursor: Cursor) -> tuple[list[Page], Cursor]:
    pages = list(feed.fetch(cursor))
    return pages, pages[-1].next_cursor


def _sync_all(conn: Office365Connector, cursors: dict[str, Cursor]) -> tuple[set[str], int]:
    """One poll of every feed from ``cursors`` (updated); the record ids seen and how many."""
    ids: set[str] = set()
    n = 0
    for feed in conn.feeds():
        cursor = cursors.get(feed.name) or feed.initial_cursor(conn.http.clock.now())
        pages, cursors[feed.name] = _drain(feed, cursor)
        for page in pages:
            n += len(page.raw_events)
            ids.update(r["Id"] for r in page.raw_events)
    return ids, n


def test_backfill_gets_exactly_the_week_the_api_holds(connect: Connect, tenant: Tenant) -> None:
    ids, n = _sync_all(connect(), {})
    assert ids == visible_ids(tenant)
    assert n > len(ids)  # duplicated records were delivered; the store drops them by Id


def test_a_shorter_backfill_starts_exactly_where_asked(connect: Connect, tenant: Tenant) -> None:
    """A new feed does not re-list the overlap before its start (it would store extra)."""
    tenant.clock.advance(70 * 60)  # blobs are cut on the hour: one lies 10 min before the start
    since = tenant.clock.now() - timedelta(days=2)
    # A budget that never waits keeps the fake clock still, so every feed starts at `since`.
    ids, _ = _sync_all(connect(backfill_days="2", requests_per_minute="60000"), {})
    assert ids == visible_ids(tenant, since=since)


def test_later_records_arrive_within_one_poll_of_publication(
    connect: Connect, tenant: Tenant
) -> None:
    conn = connect()
    cursors: dict[str, Cursor] = {}
    seen, _ = _sync_all(conn, cursors)
    record = {
        "CreationTime": (tenant.clock.now() - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": "0f0f0f0f-0000-4000-8000-00000000abcd",
        "Operation": "FileAccessed",
        "RecordType": 6,
        "Workload": "SharePoint",
        "UserId": "alex.wilber@contoso.onmicrosoft.com",
        "ClientIP": "203.0.113.5",
    }
    tenant.clock.advance(90 * 60)  # the seed's own later blobs become visible too
    tenant.state.append_record(record, tenant.clock.now())
    tenant.clock.advance(1)
    new, _ = _sync_all(conn, cursors)
    assert record["Id"] in new
    assert seen | new == visible_ids(tenant)


def test_resuming_from_every_page_cursor_loses_nothing(connect: Connect, tenant: Tenant) -> None:
    """A crash after any stored page restarts from that page's cursor."""
    conn = connect(workers="2")
    truth = visible_ids(tenant)
    for feed in conn.feeds():
        pages, _ = _drain(feed, feed.initial_cursor(tenant.clock.now()))
        full = {r["Id"] for p in pages for r in p.raw_events}
        for k, page in enumerate(pages[:-1]):
            before = {r["Id"] for p in pages[: k + 1] for r in p.raw_events}
            after, _ = _drain(feed, page.next_cursor)
            assert before | {r["Id"] for p in after for r in p.raw_events} == full, (feed.name, k)
        assert full <= truth


def test_a_cursor_older_than_retention_is_reported_as_a_gap(
    connect: Connect, tenant: Tenant
) -> None:
    conn = connect()
    feed = conn.feeds()[0]
    stale = {"start": "2026-10-01T00:00:00", "done": {}}
    pages, _ = _drain(feed, stale)
    gaps = [g for p in pages for g in p.gaps]
    assert len(gaps) == 1 and gaps[0].code == "AF20051"
    assert "2026-10-01T00:00:00Z" in gaps[0].what and "import" in gaps[0].fix
    # A new feed's own start is clamped silently: nothing was lost there.
    pages, _ = _drain(feed, feed.initial_cursor(tenant.clock.now() - timedelta(days=30)))
    assert not [g for p in pages for g in p.gaps]


class _Rewriting(httpx.BaseTransport):
    """Wraps the emulator's transport and edits what comes back (below the HTTP client)."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        edit: Callable[[httpx.Request, httpx.Response], httpx.Response],
    ) -> None:
        self.inner = inner
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.edit(request, self.inner.handle_request(request))


def _with_transport(conn: Office365Connector, transport: httpx.BaseTransport) -> Office365Connector:
    import dataclasses

    http = dataclasses.replace(conn.http, transport=transport)
    return Office365Connector(conn.config, conn.secrets, http=http)


def test_a_next_page_uri_off_the_api_host_is_refused(
    tenant_factory: Callable[..., Tenant], connect: Connect
) -> None:
    t = tenant_factory(limits=Limits(content_page_size=2))

    def hostile(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if "nextpageuri" in response.headers:
            response.headers["NextPageUri"] = "https://evil.example/steal?token=1"
        return response

    conn = _with_transport(connect(t=t), _Rewriting(t.client._transport, hostile))
    try:
        feed = conn.feeds()[0]
        with pytest.raises(UnsafeResponse):
            list(feed.fetch(feed.initial_cursor(t.clock.now())))
    finally:
        conn.close()


def test_a_blob_that_expires_before_it_is_fetched_is_a_gap(
    connect: Connect, tenant: Tenant
) -> None:
    advanced: list[bool] = []

    class _Slow(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if "/audit/" in request.url.path and not advanced:
                advanced.append(True)
                tenant.clock.advance(8 * 86400)  # the consumer stalls for 8 days
            return tenant.client._transport.handle_request(request)

    conn = _with_transport(connect(workers="1"), _Slow())
    try:
        feed = next(f for f in conn.feeds() if isinstance(f, ContentFeed))
        pages = list(feed.fetch(feed.initial_cursor(tenant.clock.now())))
    finally:
        conn.close()
    gaps = [g for p in pages for g in p.gaps]
    assert gaps and all(g.code == "AF20051" for g in gaps)
    assert any("content blob" in g.what for g in gaps)  # the blobs listed before the stall
    assert any("content available from" in g.what for g in gaps)  # and what fell out since


def test_faults_and_duplicates_still_give_exactly_the_week(
    tenant_factory: Callable[..., Tenant], connect: Connect
) -> None:
    faults = Faults(error_500_rate=0.1, error_503_rate=0.05, burst_429_every=25, seed=3)
    t = tenant_factory(build_seed(600, seed=11), faults=faults)
    conn = connect(t=t)
    ids: set[str] = set()
    cursors: dict[str, Cursor] = {}
    for _cycle in range(20):  # as the scheduler does: a failed cycle resumes from its cursor
        try:
            for feed in conn.feeds():
                cursor = cursors.get(feed.name) or feed.initial_cursor(t.clock.now())
                for page in feed.fetch(cursor):
                    ids.update(r["Id"] for r in page.raw_events)
                    cursors[feed.name] = page.next_cursor
            break
        except ConnectorError as exc:
            assert exc.transient, exc
    assert ids == visible_ids(t)


def test_the_request_budget_keeps_clear_of_throttling(
    tenant_factory: Callable[..., Tenant], connect: Connect
) -> None:
    t = tenant_factory(build_seed(900, seed=5), limits=Limits(activity_per_minute=40))
    # One worker: the fake clock is shared by threads, and its sleeps add up, not overlap.
    conn = connect(t=t, requests_per_minute="38", workers="1")
    start = t.clock.now()
    ids, _ = _sync_all(conn, {})
    elapsed = (t.clock.now() - start).total_seconds()
    assert ids == visible_ids(t, since=start - timedelta(days=7))
    assert conn.manage.rate_limited == 0
    used = conn.budget.requests / (elapsed / 60 * 40)
    assert used > 0.85, used


@pytest.mark.parametrize("skew_hours", [-3, 3])
def test_a_skewed_local_clock_still_backfills_exactly(tenant: Tenant, skew_hours: int) -> None:
    """Windows are computed on the server's clock (its Date header), not ours."""
    from tests.sandbox.o365_conftest_helpers import BASE, CLIENT_ID, SECRET, TENANT_ID

    from opencasb.clock import FakeClock
    from opencasb.http.options import HttpOptions

    local = FakeClock(tenant.clock.now() + timedelta(hours=skew_hours))
    since = tenant.clock.now() - timedelta(days=2)  # the backfill's edge lies inside the data
    conn = Office365Connector(
        {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "endpoint": BASE,
         "requests_per_minute": "60000", "backfill_days": "2"},
        {"client_secret": SECRET},
        http=HttpOptions(transport=tenant.client._transport, clock=local),
    )  # fmt: skip
    try:
        ids, _ = _sync_all(conn, {})
    finally:
        conn.close()
    assert ids == visible_ids(tenant, since=since)


def test_an_unreadable_listing_entry_is_a_gap_even_when_nothing_else_is_new(
    connect: Connect, tenant: Tenant
) -> None:
    conn = connect()
    feed = conn.feeds()[0]
    _, cursor = _drain(feed, feed.initial_cursor(tenant.clock.now()))  # caught up

    def broken(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/subscriptions/content"):
            return httpx.Response(200, json=[{"contentType": "x"}], headers=response.headers)
        return response

    other = _with_transport(conn, _Rewriting(tenant.client._transport, broken))
    try:
        pages, _ = _drain(other.feeds()[0], cursor)
    finally:
        other.close()
    gaps = [g for p in pages for g in p.gaps]
    assert [g.code for g in gaps] == ["BadListing"]
