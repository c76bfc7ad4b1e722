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
from opencasb.web.paging import encode_key

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


def _raise(web: Web, writes: list[AlertWrite]) -> None:
    web.store.detection.commit_stage(
        "paging-more", expected=None, cursor=1, state="{}", new_alerts=writes, disabled={}
    )


def test_an_alerts_evidence_pages_through_the_api_and_its_page(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More evidence than a page (some no longer stored): the API's detail gives the first
    page and ``evidence_next``, the evidence route pages on, the alert's page links on; each
    evidence activity once, in the alert's order page by page."""
    seed(web)
    stored = [i for i, _, _ in web.store.detection.activities_after({}, 10_000)]
    gone = list(range(max(stored) + 1, max(stored) + 330))  # pruned by retention, say
    evidence = tuple(stored + gone)
    assert len(evidence) > 2 * 200
    _raise(web, [AlertWrite("many", "p", "many", "low", "c", None, "ann@example.com", "x",
                            evidence, T0, T0, False)])  # fmt: skip
    c = web.signed_in("read_only")
    one = c.get("/api/v1/alerts/many").json()
    assert len(one["evidence"]) + one["evidence_missing"] == 200 and one["evidence_next"]
    assert one["evidence_ids"] == list(evidence)
    seen = [e["id"] for e in one["evidence"]]
    missing = one["evidence_missing"]
    items, pages = _follow(c, one["evidence_next"].replace("after=", "limit=70&after="))
    seen += [int(str(e["id"])) for e in items]
    assert sorted(seen) == stored and pages == -(-(len(evidence) - 200) // 70)
    everything, _ = _follow(c, "/api/v1/alerts/many/evidence?limit=33")
    assert [e["id"] for e in everything] == stored  # the stored ones come first here
    counted = c.get("/api/v1/alerts/many/evidence", params={"limit": 1000}).json()
    assert counted["missing"] == len(gone) and counted["next"] is None and missing == 200 - 121
    bad = c.get("/api/v1/alerts/many/evidence", params={"after": encode_key([10**9])})
    assert_problem(bad, 400, "bad_page_token")
    assert_problem(c.get("/api/v1/alerts/many/evidence", params={"after": "@@"}), 400,
                   "bad_page_token")  # fmt: skip

    monkeypatch.setattr(alerts_page, "EVIDENCE_SHOWN", 50)
    rows: list[str] = []
    url: str | None = "/alerts/many"
    pages = 0
    while url:
        html = c.get(url).text
        rows += re.findall(r"open=(evt-\d{6})", html)
        rows += re.findall(r"activity (\d+) is no longer stored", html)
        nxt = _links(html, "/alerts/many")
        url = nxt[0] if nxt else None
        pages += 1
    assert len(rows) == len(set(rows)) == len(evidence) and pages == -(-len(evidence) // 50)


def test_a_persons_alerts_page_through_the_api_and_the_person_page(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person with more alerts than a page (naming an e-mail of their accounts, or
    an account id): ``/api/v1/alerts?person=`` and the person page's Older link give each
    once, newest first; other people's alerts are not among them."""
    _fill(web)
    mine = ["PERSON7@Example.com", "person7@example.com", "00u0007", "guid-0007"]
    _raise(web, [AlertWrite(f"p7-{i:03d}", "p", f"about 7 #{i}", "low", "c", None,
                            mine[i % 4], "x", (1,), T0 + timedelta(seconds=i),
                            T0 + timedelta(seconds=i % 5), False)
                 for i in range(45)])  # fmt: skip
    c = web.signed_in("read_only")
    got, pages = _follow(c, "/api/v1/alerts?person=person7%40example.com&limit=10")
    assert sorted(str(a["id"]) for a in got) == [f"p7-{i:03d}" for i in range(45)]
    assert pages == 5 and all(str(a["entity"]) in mine for a in got)
    order = [(str(a["last_time"]), str(a["id"])) for a in got]
    assert order == sorted(order, key=lambda t: (-int(t[0][17:19]), t[1]))
    assert_problem(c.get("/api/v1/alerts", params={"person": "nobody"}), 404, None)

    monkeypatch.setattr(accounts_page, "ALERTS_SHOWN", 20)
    seen: list[str] = []
    url: str | None = "/accounts/person?key=person7%40example.com"
    pages = 0
    while url:
        html = c.get(url).text
        seen += re.findall(r'<a href="/alerts/(p7-\d{3}|pg-\d{4})">', html)
        nxt = _links(html, "/accounts/person")
        url = nxt[0] if nxt else None
        pages += 1
    assert sorted(seen) == [f"p7-{i:03d}" for i in range(45)] and pages == 3
