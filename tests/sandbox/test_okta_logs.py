"""GET /api/v1/logs: polling, bounded queries, cursors, limits, errors and Link headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from opencasb.sandbox.okta.state import iso_ms


def _follow(
    org: Any, url: str, helpers: Any, *, max_pages: int = 100
) -> tuple[list[dict[str, Any]], str]:
    """Follow next links until a short page; return the events and the next URL to resume."""
    events: list[dict[str, Any]] = []
    for _ in range(max_pages):
        r = org.client.get(url, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
        assert r.status_code == 200, r.text
        page = r.json()
        events += page
        url = helpers.links(r)["next"]
        limit = int(dict(parse_qsl(urlsplit(url).query)).get("limit", "100"))
        if len(page) < limit:
            return events, url
    raise AssertionError("polling never produced a short page")


def test_polling_yields_every_visible_event_once_including_late_ones(org_factory, helpers):
    org = org_factory(helpers.build_seed(300, late_every=10))
    since = iso_ms(helpers.NOW - timedelta(days=1))
    first, resume = _follow(org, f"/api/v1/logs?since={since}&limit=37", helpers)
    # Event n is published at NOW-300+n minutes; every 10th is persisted 30 minutes late,
    # so 270, 280 and 290 are not in the log yet.
    assert len(first) == 297
    assert {"270", "280", "290"}.isdisjoint(e["uuid"][-3:] for e in first)
    assert len({e["uuid"] for e in first}) == len(first)

    # Late events become visible as the clock passes their persistence time, and new events
    # are persisted with a published time earlier than ones already delivered.
    org.clock.advance(31 * 60)
    for n in range(5):
        org.state.append_event(
            helpers.make_event(1000 + n, helpers.NOW - timedelta(hours=2)),
            persisted_at=org.clock.now(),
        )
    second, resume2 = _follow(org, resume, helpers)
    uuids = [e["uuid"] for e in first + second]
    assert len(uuids) == len(set(uuids)) == 300 + 5
    # Persistence order, not published order: the late ones arrive after newer events.
    published = [e["published"] for e in second]
    assert published != sorted(published) or len(second) <= 1

    # Nothing new: the next poll returns nothing and points at itself.
    r = org.client.get(resume2, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
    assert r.json() == []
    assert helpers.links(r)["next"] == helpers.links(r)["self"] == resume2


def test_empty_poll_without_cursor_has_next_equal_to_self(org, helpers):
    r = org.get("/api/v1/logs", since=iso_ms(helpers.NOW + timedelta(minutes=1)))
    assert r.status_code == 200 and r.json() == []
    links = helpers.links(r)
    assert links["next"] == links["self"]


def test_future_persisted_events_are_invisible_until_their_time(org, helpers):
    org.state.append_event(
        helpers.make_event(5000, helpers.NOW), persisted_at=helpers.NOW + timedelta(minutes=5)
    )
    flt = 'displayMessage eq "Event number 5000"'
    assert org.get("/api/v1/logs", filter=flt).json() == []
    org.clock.advance(5 * 60)
    assert [e["uuid"][-4:] for e in org.get("/api/v1/logs", filter=flt).json()] == ["5000"]


def test_link_headers_are_two_absolute_lines_echoing_params(org, helpers):
    r = org.get("/api/v1/logs", limit=5, filter='eventType sw "user"', q="event")
    lines = r.headers.get_list("link")
    assert len(lines) == 2
    assert lines[0].endswith('rel="self"') and lines[1].endswith('rel="next"')
    nxt = helpers.links(r)["next"]
    assert nxt.startswith("https://org.okta.test/api/v1/logs?")
    params = dict(parse_qsl(urlsplit(nxt).query))
    assert params["limit"] == "5" and params["q"] == "event"
    assert params["filter"] == 'eventType sw "user"'
    assert params["after"].count("_") == 1


def test_bounded_query_is_finite_and_in_published_order(org_factory, helpers):
    org = org_factory(helpers.build_seed(300, late_every=7))
    org.clock.advance(3600)  # every late event is persisted by now
    since = iso_ms(helpers.NOW - timedelta(minutes=250))
    until = iso_ms(helpers.NOW - timedelta(minutes=50))
    url: str | None = f"/api/v1/logs?since={since}&until={until}&limit=60"
    got: list[dict[str, Any]] = []
    pages = 0
    while url:
        r = org.client.get(url, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
        got += r.json()
        url = helpers.links(r).get("next")
        pages += 1
    assert len(got) == 200 and pages == 4
    assert [e["published"] for e in got] == sorted(e["published"] for e in got)
    assert got[0]["published"] == since

    r = org.get("/api/v1/logs", since=since, until=until, sortOrder="DESCENDING", limit=1000)
    desc = [e["published"] for e in r.json()]
    assert desc == sorted(desc, reverse=True) and len(desc) == 200
    assert "next" not in helpers.links(r)


def test_descending_pages_resume_exactly(org, helpers):
    until = iso_ms(helpers.NOW)
    url: str | None = f"/api/v1/logs?until={until}&sortOrder=DESCENDING&limit=70"
    got = []
    while url:
        r = org.client.get(url, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
        got += [e["uuid"] for e in r.json()]
        url = helpers.links(r).get("next")
    assert len(got) == len(set(got)) == 300


def test_since_over_180_days_is_rejected(org, helpers):
    r = org.get("/api/v1/logs", since=iso_ms(helpers.NOW - timedelta(days=181)))
    assert r.status_code == 400
    body = r.json()
    assert body["errorCode"] == "E0000053"
    assert body["errorSummary"] == (
        "Invalid parameter: The since parameter is over 180 days prior to the current day."
    )
    assert body["errorId"].startswith("oae") and len(body["errorId"]) == 25


def test_retention_clips_events_older_than_90_days(org, helpers):
    old = helpers.NOW - timedelta(days=100)
    seed = helpers.build_seed(3)
    seed.events = [
        (helpers.make_event(1, old), old),
        (helpers.make_event(2, helpers.NOW - timedelta(days=80)), helpers.NOW - timedelta(days=80)),
    ]
    from opencasb.sandbox.okta import OktaState

    state = OktaState.from_seed(seed, clock=org.clock)
    org.state.log = state.log
    since = iso_ms(helpers.NOW - timedelta(days=120))
    r = org.get("/api/v1/logs", since=since, until=iso_ms(helpers.NOW))
    assert r.status_code == 200
    assert [e["uuid"][-1] for e in r.json()] == ["2"]
    r = org.get("/api/v1/logs", since=since)  # polling clips the same way
    assert [e["uuid"][-1] for e in r.json()] == ["2"]


def test_limit_validation(org):
    for bad in ("1001", "-1", "ten"):
        r = org.get("/api/v1/logs", limit=bad)
        assert r.status_code == 400
        assert r.json()["errorCode"] == "E0000001"
        assert r.json()["errorSummary"] == "Api validation failed: limit"
    assert len(org.get("/api/v1/logs").json()) == 100
    assert len(org.get("/api/v1/logs", limit=1000).json()) == 300
    r = org.get("/api/v1/logs", limit=0)
    assert r.status_code == 200 and r.json() == []


def test_since_and_after_are_mutually_exclusive(org, helpers):
    r = org.get("/api/v1/logs", since=iso_ms(helpers.NOW), after="1_1")
    assert r.status_code == 400


def test_bad_date_message(org):
    r = org.get("/api/v1/logs", until="yesterday")
    assert r.status_code == 400
    body = r.json()
    assert body["errorCode"] == "E0000001"
    assert body["errorSummary"].startswith("Api validation failed: 'until': The date format")
    assert [c["errorSummary"] for c in body["errorCauses"]] == [
        "until: The date format in your query is not recognized. Please enter dates using "
        "ISO8601 string format.",
        "until: must be a valid date-time or empty.",
    ]


def test_bad_cursor(org):
    assert org.get("/api/v1/logs", after="garbage").status_code == 400


def _count(org: Any, **params: Any) -> int:
    r = org.get("/api/v1/logs", limit=1000, **params)
    assert r.status_code == 200, r.text
    return len(r.json())


def test_filter_semantics(org):
    assert _count(org, filter='eventType eq "user.session.start"') == 60
    assert _count(org, filter='eventType EQ "USER.SESSION.START"') == 60
    assert _count(org, filter='eventType ne "user.session.start"') == 240
    assert _count(org, filter='eventType sw "user."') == 180
    assert _count(org, filter='eventType ew "start"') == 60
    assert _count(org, filter='eventType co "session"') == 120
    assert _count(org, filter='target.id eq "00u1"') == 100
    assert _count(org, filter='target.id eq "00u1" or target.id eq "00u2"') == 200
    assert _count(org, filter='not (target.id eq "00u1")') == 200
    assert _count(
        org,
        filter='(eventType eq "user.session.start" or eventType eq "user.session.end") '
        'and severity eq "WARN"',
    ) == len([n for n in range(300) if n % 5 in (0, 3) and n % 7 == 0])
    assert _count(org, filter="target pr") == 300
    assert _count(org, filter="device pr") == 0
    assert _count(org, filter='client.geographicalContext.city eq "Paris"') == 300
    assert _count(org, filter='displayMessage gt "Event number 5"') > 0


def test_filter_errors(org):
    r = org.get("/api/v1/logs", filter='display_message eqq "Create okta user"')
    assert r.status_code == 400
    assert r.json()["errorCode"] == "E0000053"
    assert "Unrecognized attribute operator 'eqq' at position 16" in r.json()["errorSummary"]
    r = org.get("/api/v1/logs", filter='some_invalid_field eq "x"')
    assert r.json()["errorSummary"] == "field is not valid: some_invalid_field"
    r = org.get("/api/v1/logs", filter='published gt "2026-01-01T00:00:00Z"')
    assert r.status_code == 400 and r.json()["errorCode"] == "E0000053"
    r = org.get("/api/v1/logs", filter='debugContext.debugData.url co "app"')
    assert r.status_code == 400 and r.json()["errorCode"] == "E0000031"
    assert r.json()["errorSummary"].endswith("Operator: co, Field: debugContext.debugData.url")
    r = org.get("/api/v1/logs", filter='(eventType eq "x"')
    assert r.status_code == 400 and r.json()["errorCode"] == "E0000053"


def test_keyword_search(org):
    assert _count(org, q="smith") == 300  # hyphenated "Smith-Jones" splits into parts
    assert _count(org, q="Number 42") == 1  # keywords AND, case-insensitive
    assert _count(org, q="number 42 nothing") == 0
    assert _count(org, q="smi") == 0  # whole tokens only
    r = org.get("/api/v1/logs", q="x" * 41)
    assert r.status_code == 400 and "longer than 40 characters" in r.json()["errorSummary"]
    r = org.get("/api/v1/logs", q=" ".join("abcdefghijk"))
    assert r.status_code == 400 and r.json()["errorCode"] == "E0000001"


def test_fast_path_serves_stored_bytes(org):
    r = org.get("/api/v1/logs", limit=2)
    assert isinstance(r, httpx.Response)
    stored = [org.state.log.get(0), org.state.log.get(1)]
    assert r.content == b"[" + b",".join(stored) + b"]"
