"""The fast paths of the activity log, which must give the same answers as the plain ones:
a type never stored (answered without a scan) and dense networks (read by time)."""

from __future__ import annotations

import pytest
from tests.store.conftest import make_activity
from tests.web.conftest import Web
from tests.web.seed import seed

from opencasb.store import ActivityQuery, PageWrite
from opencasb.store import query as store_query


def test_a_type_stored_after_the_first_question_is_found(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    params = {"activity_type": "app.brand.new"}
    assert c.get("/api/v1/activities", params=params).json()["items"] == []
    okta = web.store.get_instance("okta")
    late = make_activity(5000, source_event_id="late-1", activity_type="app.brand.new")
    web.store.save_pages([PageWrite.of(okta.id, "logs", [late], None)])
    items = c.get("/api/v1/activities", params=params).json()["items"]
    assert [a["source_event_id"] for a in items] == ["late-1"]
    # a type that exists is never refused, with or without other filters
    some = c.get("/api/v1/activities", params={"activity_type": "user.session.start"}).json()
    assert len(some["items"]) == 50


@pytest.mark.parametrize("threshold", [1, 10**9])
def test_a_network_reads_the_same_by_time_or_by_ip_index(
    web: Web, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(web)
    monkeypatch.setattr(store_query, "DENSE_IP_ROWS", threshold)
    q = ActivityQuery(ip="198.51.100.0/28", limit=7)
    pages, after = [], None
    while True:
        page = web.store.query_activities(ActivityQuery(ip=q.ip, limit=7, after=after))
        pages += [a.source_event_id for a in page.items]
        after = page.next_after
        if after is None:
            break
    expected = [f"evt-{i:06d}" for i in range(119, -1, -1) if i % 250 < 16]
    assert pages == expected
    with web.store.engine.connect() as conn:
        assert store_query.dense_ip_range(conn, q) is (threshold == 1)
