"""Keyset paging through the API and the pages, on both engines: alerts, accounts, people,
groups and the activity search by body each page through more rows than a page, following
``next`` (or the pages' Next link), with no row missing or repeated."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import T0, Web
from tests.web.helpers import assert_problem
from tests.web.seed import seed

from opencasb.model.inventory import Account, Group
from opencasb.store.detection import AlertWrite
from opencasb.web.pages import accounts as accounts_page
from opencasb.web.pages import alerts as alerts_page

N_ALERTS = 130
N_OKTA = 160
N_O365 = 90  # the first 60 are Okta people too (e-mail in another case)
N_GROUPS = 120


def _fill(web: Web) -> None:
    seed(web)  # one alert, two Okta accounts, a group
    store = web.store
    writes = [
        AlertWrite(
            f"pg-{i:04d}",
            f"p{i % 3}",
            f"alert {i}",
            ("low", "high")[i % 2],
            "c",
            None,
            f"u{i}@example.com",
            "x",
            (1,),
            T0 + timedelta(seconds=i % 13),
            T0 + timedelta(seconds=i % 13),
            False,
        )
        for i in range(N_ALERTS)
    ]
    store.detection.commit_stage(
        "paging", expected=None, cursor=1, state="{}", new_alerts=writes, disabled={}
    )
    okta = store.get_instance("okta").id
    o365 = store.get_instance("o365").id
    store.replace_inventory(
        okta,
        [
            Account(f"00u{i:04d}", f"person{i}@example.com", f"Person {i}", "ACTIVE", i % 10 == 0)
            for i in range(N_OKTA)
        ],
        [Group(f"00g{i:04d}", f"Group {i}", member_ids=(f"00u{i:04d}",)) for i in range(N_GROUPS)],
    )
    store.replace_inventory(
        o365,
        [
            Account(
                f"guid-{i:04d}", f"PERSON{i}@Example.com" if i < 60 else None, f"O {i}", "enabled"
            )
            for i in range(N_O365)
        ],
        [],
    )


def _follow(c: TestClient, url: str) -> tuple[list[dict[str, object]], int]:
    items: list[dict[str, object]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        r = c.get(next_url)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        next_url = body["next"]
        pages += 1
        assert pages < 1000
    return items, pages


def test_api_lists_page_every_row_once(web: Web) -> None:
    _fill(web)
    c = web.signed_in("read_only")

    alerts, pages = _follow(c, "/api/v1/alerts?limit=17")
    ids = [str(a["id"]) for a in alerts]
    assert len(ids) == len(set(ids)) == N_ALERTS + 1 and pages == -(-(N_ALERTS + 1) // 17)
    order = [(str(a["last_time"]), str(a["id"])) for a in alerts]  # ISO times sort as text
    assert all(
        t1 > t2 or (t1 == t2 and i1 < i2) for (t1, i1), (t2, i2) in itertools.pairwise(order)
    )
    high, _ = _follow(c, "/api/v1/alerts?limit=9&severity=high&status=open")
    assert {str(a["id"]) for a in high} == {f"pg-{i:04d}" for i in range(1, N_ALERTS, 2)}
    p2, _ = _follow(c, "/api/v1/alerts?limit=5&policy_id=p2")
    assert len(p2) == len(range(2, N_ALERTS, 3))

    accounts, _ = _follow(c, "/api/v1/accounts?limit=23")
    keys = [(str(a["instance"]), str(a["id"])) for a in accounts]
    assert len(keys) == len(set(keys)) == N_OKTA + N_O365
    first = c.get("/api/v1/accounts", params={"limit": 23}).json()
    assert first["total"] == N_OKTA + N_O365
    admins, _ = _follow(c, "/api/v1/accounts?limit=4&admins=true&instance=okta")
    assert [a["id"] for a in admins] == [f"00u{i:04d}" for i in range(0, N_OKTA, 10)]

    people, _ = _follow(c, "/api/v1/people?limit=31")
    pkeys = [str(p["key"]) for p in people]
    assert len(pkeys) == len(set(pkeys)) == N_OKTA + N_O365 - 60
    both = next(p for p in people if p["key"] == "person7@example.com")
    assert both["apps"] == ["office365", "okta"] and len(both["accounts"]) == 2  # type: ignore[arg-type]
    found, _ = _follow(c, "/api/v1/people?limit=2&q=O%205")
    assert {p["key"] for p in found} == {"person5@example.com", "person50@example.com",
                                         "person51@example.com", "person52@example.com",
                                         "person53@example.com", "person54@example.com",
                                         "person55@example.com", "person56@example.com",
                                         "person57@example.com", "person58@example.com",
                                         "person59@example.com"}  # fmt: skip

    groups, _ = _follow(c, "/api/v1/groups?limit=11")
    gids = [str(g["id"]) for g in groups]
    assert len(gids) == len(set(gids)) == N_GROUPS  # the seed's group was replaced
    assert groups[5]["member_ids"] == ["00u0005"]

    for url in ("/api/v1/alerts", "/api/v1/accounts", "/api/v1/people", "/api/v1/groups"):
        assert_problem(c.get(url, params={"after": "@@"}), 400, "bad_page_token")
        assert_problem(c.get(url, params={"after": "WzEsMiwzXQ"}), 400, "bad_page_token")


def test_the_activity_search_by_body_pages_with_next_or_after(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    doc = {"field": "outcome", "equals": "success"}
    body = {"filter": doc, "activity_type": "user.session.start", "limit": 7}
    expected = [
        a["source_event_id"]
        for a in c.get(
            "/api/v1/activities",
            params={"outcome": "success", "activity_type": "user.session.start", "limit": 1000},
        ).json()["items"]
    ]
    assert len(expected) > 3 * 7
    first = c.post("/api/v1/activities/search", json=body).json()
    # follow next: a GET link that carries the body's filters
    by_next = [a["source_event_id"] for a in first["items"]]
    more, _ = _follow(c, first["next"])
    by_next += [a["source_event_id"] for a in more]
    assert by_next == expected
    # or post the body again with after
    by_after = [a["source_event_id"] for a in first["items"]]
    after = first["after"]
    while after:
        page = c.post("/api/v1/activities/search", json={**body, "after": after}).json()
        by_after += [a["source_event_id"] for a in page["items"]]
        after = page["after"]
        assert (page["next"] is None) == (after is None)
    assert by_after == expected


def _links(html: str, path: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'href="({re.escape(path)}\?[^"]*)" rel="next"', html)]


def test_the_alerts_and_accounts_pages_follow_their_next_link(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts_page, "PAGE", 40)
    monkeypatch.setattr(accounts_page, "PAGE", 50)
    _fill(web)
    c = web.signed_in("read_only")
    seen: list[str] = []
    url: str | None = "/alerts?status=all"
    pages = 0
    while url:
        html = c.get(url).text
        seen += re.findall(r'<a href="/alerts/(pg-\d{4}|alert-0001)">', html)
        nxt = _links(html, "/alerts")
        url = nxt[0] if nxt else None
        pages += 1
    assert len(seen) == len(set(seen)) == N_ALERTS + 1 and pages == 4
    people: list[str] = []
    url = "/accounts"
    pages = 0
    while url:
        pages += 1
        html = c.get(url).text
        people += re.findall(r'href="/accounts/person\?key=([^"]+)"', html)
        nxt = _links(html, "/accounts")
        url = nxt[0] if nxt else None
    assert len(people) == len(set(people)) == N_OKTA + N_O365 - 60 and pages == 4
    person = c.get("/accounts/person", params={"key": "person7@example.com"})
    assert person.status_code == 200 and "guid-0007" in person.text and "00u0007" in person.text
    assert c.get("/accounts/person", params={"key": "nobody"}).status_code == 404
