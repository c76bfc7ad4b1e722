"""A person's alerts whatever the case of the alert's entity, on both engines: a policy alert
names its actor as the app wrote it (``Alice@Contoso.com`` from an Office 365 UserId, an Okta
login with capitals), while the person's accounts hold their e-mails and ids in another
case; ``/api/v1/alerts?person=`` and the person page list it all the same, paging across a
page boundary exactly once each."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from tests.web.conftest import T0, Web

from opencasb.model.inventory import Account
from opencasb.store.detection import AlertWrite
from opencasb.web.pages import accounts as accounts_page

# The person: an Okta account (login in lower case) and an Office 365 account whose e-mail
# the directory spells in capitals; neither spelling is an alert's.
_OKTA = Account("00uAbC1", "alice@contoso.com", "Alice", "ACTIVE")
_O365 = Account("GUID-A1", "ALICE@CONTOSO.COM", "Alice", "enabled")
_BOB = Account("00uBoB2", "bob@contoso.com", "Bob", "ACTIVE")

# How alerts name her: the vendor's case of her e-mail, her ids in another case, the anomaly
# detections' case-folded key.
_HERS = ("Alice@Contoso.com", "aLiCe@contoso.COM", "00UABC1", "guid-a1", "alice@contoso.com")


def _alert(alert_id: str, entity: str, i: int) -> AlertWrite:
    when = T0 + timedelta(seconds=i % 4)  # ties in last_time: the id breaks them
    return AlertWrite(alert_id, "p", f"alert {alert_id}", "low", "c", None, entity, "x", (1,),
                      when, when, False)  # fmt: skip


def _fill(web: Web, n: int) -> list[str]:
    """Alice's ``n`` alerts (their ids) and Bob's, Bob's interleaved in time with hers."""
    store = web.store
    okta = store.add_instance("okta", "okta", {"domain": "c.okta.com", "auth": "ssws"}, {}).id
    o365 = store.add_instance("o365", "o365", {"tenant_id": "t", "client_id": "c"}, {}).id
    store.replace_inventory(okta, [_OKTA, _BOB], [])
    store.replace_inventory(o365, [_O365], [])
    hers = [_alert(f"a-{i:03d}", _HERS[i % len(_HERS)], i) for i in range(n)]
    bobs = [_alert(f"b-{i:03d}", ("Bob@Contoso.com", "00ubob2")[i % 2], i) for i in range(n)]
    store.detection.commit_stage(
        "case", expected=None, cursor=1, state="{}", new_alerts=hers + bobs, disabled={}
    )
    return [a.id for a in hers]


def _follow_api(web: Web, url: str) -> tuple[list[str], int]:
    c = web.signed_in("read_only")
    ids: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        body = c.get(next_url).json()
        ids += [str(a["id"]) for a in body["items"]]
        next_url = body["next"]
        pages += 1
    return ids, pages


@pytest.mark.parametrize("key", ["alice@contoso.com", "ALICE@contoso.com"])
def test_the_api_lists_a_persons_alerts_whatever_the_case_of_their_entity(
    web: Web, key: str
) -> None:
    hers = _fill(web, 23)
    key = web.store.inventory.get_person(key.casefold()).key
    ids, pages = _follow_api(web, f"/api/v1/alerts?person={key}&limit=5")
    assert sorted(ids) == hers and len(ids) == len(set(ids)) and pages == 5
    c = web.signed_in("read_only")
    all_at_once = c.get("/api/v1/alerts", params={"person": key, "limit": 1000}).json()
    got = [(a["last_time"], a["id"]) for a in all_at_once["items"]]
    assert [i for _, i in got] == ids  # paged in the same order as one page
    assert got == sorted(got, key=lambda t: (-int(t[0][17:19]), t[1]))
    bob, _ = _follow_api(web, "/api/v1/alerts?person=bob%40contoso.com&limit=4")
    assert sorted(bob) == [f"b-{i:03d}" for i in range(23)]


def test_the_person_page_lists_a_persons_alerts_whatever_the_case_of_their_entity(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    hers = _fill(web, 25)
    monkeypatch.setattr(accounts_page, "ALERTS_SHOWN", 10)
    c = web.signed_in("read_only")
    seen: list[str] = []
    url: str | None = "/accounts/person?key=alice%40contoso.com"
    pages = 0
    while url:
        html = c.get(url).text
        seen += re.findall(r'<a href="/alerts/([ab]-\d{3})">', html)
        more = re.findall(r'href="(/accounts/person\?[^"]*)" rel="next"', html)
        url = unescape(more[0]) if more else None
        pages += 1
    assert sorted(seen) == hers and len(seen) == len(set(seen)) and pages == 3
