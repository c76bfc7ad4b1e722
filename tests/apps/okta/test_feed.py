"""The System Log feed's paging rules, with canned answers below the HTTP client."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from opencasb.apps.okta.connector import OktaConnector
from opencasb.apps.okta.feed import PAGE_LIMIT
from opencasb.clock import FakeClock
from opencasb.errors import UnsafeResponse
from opencasb.http.options import HttpOptions

ORIGIN = "https://acme.okta.com"


def _event(n: int) -> dict[str, object]:
    return {"uuid": f"u-{n}", "published": "2026-11-01T10:00:00.000Z", "eventType": "x"}


def _feed(handler: Callable[[httpx.Request], httpx.Response]) -> OktaConnector:
    http = HttpOptions(transport=httpx.MockTransport(handler), clock=FakeClock(), max_retries=0)
    return OktaConnector({"domain": "acme.okta.com"}, {"token": "t0ken-value"}, http=http)


def _page(events: list[dict[str, object]], next_url: str | None) -> httpx.Response:
    headers = [("link", f'<{ORIGIN}/api/v1/logs?limit=1000>; rel="self"')]
    if next_url:
        headers.append(("link", f'<{next_url}>; rel="next"'))
    return httpx.Response(200, json=events, headers=headers)


def test_follows_next_until_a_short_page_and_keeps_the_next_link_as_cursor() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if len(calls) == 1:
            assert request.url.params["sortOrder"] == "ASCENDING"
            assert "since" in request.url.params and "until" not in request.url.params
            full = [_event(i) for i in range(PAGE_LIMIT)]
            return _page(full, f"{ORIGIN}/api/v1/logs?limit=1000&after=1_1")
        return _page([_event(-1)], f"{ORIGIN}/api/v1/logs?limit=1000&after=2_2")

    conn = _feed(handler)
    feed = conn.feeds()[0]
    pages = list(feed.fetch(feed.initial_cursor(FakeClock().now())))
    assert [len(p.raw_events) for p in pages] == [PAGE_LIMIT, 1]
    assert [p.caught_up for p in pages] == [False, True]
    assert pages[-1].next_cursor["next"] == f"{ORIGIN}/api/v1/logs?limit=1000&after=2_2"
    assert calls[1] == f"{ORIGIN}/api/v1/logs?limit=1000&after=1_1"


def test_resumes_from_the_stored_next_link() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return _page([], str(request.url))

    feed = _feed(handler).feeds()[0]
    cursor = {"start": "2026-09-01T00:00:00.000Z", "next": f"{ORIGIN}/api/v1/logs?after=9_9"}
    pages = list(feed.fetch(cursor))
    assert seen == [f"{ORIGIN}/api/v1/logs?after=9_9"]
    assert pages[0].caught_up and pages[0].next_cursor["next"] == seen[0]


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example.com/api/v1/logs?after=1",
        "http://acme.okta.com/api/v1/logs?after=1",
        "https://acme.okta.com@evil.example.com/api/v1/logs",
    ],
)
def test_a_next_link_off_the_org_is_refused_and_nothing_is_yielded(hostile: str) -> None:
    feed = _feed(lambda r: _page([_event(1)], hostile)).feeds()[0]
    with pytest.raises(UnsafeResponse):
        list(feed.fetch(feed.initial_cursor(FakeClock().now())))


def test_a_polling_answer_without_next_rereads_rather_than_skips() -> None:
    feed = _feed(lambda r: _page([_event(1)], None)).feeds()[0]
    cursor = {"start": "2026-09-01T00:00:00.000Z", "next": f"{ORIGIN}/api/v1/logs?after=5_5"}
    (page,) = list(feed.fetch(cursor))
    assert page.next_cursor["next"] == f"{ORIGIN}/api/v1/logs?after=5_5"


def test_a_non_list_answer_is_a_clear_error() -> None:
    from opencasb.errors import UpstreamError

    feed = _feed(lambda r: httpx.Response(200, json={"oops": 1})).feeds()[0]
    with pytest.raises(UpstreamError, match="list of events"):
        list(feed.fetch(feed.initial_cursor(FakeClock().now())))
