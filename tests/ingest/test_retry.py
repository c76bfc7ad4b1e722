"""Retrying quarantined records: what now normalizes is stored and leaves the quarantine in
one transaction; the rest stays. Both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencasb.clock import FakeClock
from opencasb.errors import NotFound, StoreError
from opencasb.ingest.file_import import import_file
from opencasb.ingest.retry import retry_rejected
from opencasb.store import Store, open_store
from opencasb.store import activities as activities_module

from ..store.conftest import KEY, T0, save_page

GOOD = {
    "uuid": "u-1",
    "published": "2024-05-01T10:11:12.345Z",
    "eventType": "user.session.start",
    "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'opencasb.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    s = open_store(url, key=KEY, clock=FakeClock(T0))
    try:
        yield s
    finally:
        s.close()


def _quarantine(store: Store, records: list[tuple[Any, str]], feed: str = "logs") -> int:
    iid = store.add_instance("okta", "okta", {"domain": "import"}, {}, enabled=False).id
    save_page(store, iid, feed, [], {"after": "x"}, rejected=records)
    return iid


def test_records_that_now_pass_are_stored_and_leave_the_quarantine(store: Store) -> None:
    # Quarantined by an older version: a record without uuid, one with a SIEM time.
    no_id = {k: v for k, v in GOOD.items() if k != "uuid"}
    siem = {**GOOD, "uuid": "u-2", "Published": "2024-05-01 10:00:00"}
    del siem["published"]
    bad = {**GOOD, "uuid": "u-3", "published": "yesterday"}
    iid = _quarantine(
        store,
        [(no_id, "no uuid"), (siem, "no published"), (bad, "bad time"), ("{cut", "not JSON")],
        feed="import:old.json",
    )
    assert store.count_rejected(iid) == 4
    done = retry_rejected(store, instance="okta", clock=FakeClock(T0))
    assert (done.tried, done.stored, done.duplicates) == (4, 2, 0)
    assert sorted(done.still.values())[0].startswith("not valid JSON")
    assert any("no usable 'published' time" in e for e in done.still.values())
    ids = store.activity_ids(iid)
    assert "u-2" in ids and any(i.startswith("sha256-") for i in ids)
    assert store.count_rejected(iid) == 2
    left = store.list_rejected(instance_id=iid)
    assert sorted(r.id for r in left) == sorted(done.still)
    assert {r.error for r in left} == {"bad time", "not JSON"}  # untouched
    health = store.get_health(iid)
    assert (health.events_stored, health.rejected) == (2, 2)
    # Nothing new the second time.
    again = retry_rejected(store, clock=FakeClock(T0))
    assert (again.tried, again.stored) == (2, 0)


def test_api_records_are_not_conformed_and_keep_the_feed_as_origin(store: Store) -> None:
    iid = _quarantine(store, [(GOOD, "normalizer failed: a bug since fixed")])
    done = retry_rejected(store, ids=[store.list_rejected()[0].id], clock=FakeClock(T0))
    assert done.stored == 1 and store.count_rejected(iid) == 0
    from sqlalchemy import text

    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT origin FROM activities")).scalar() == "api:logs"
    assert store.get_cursor(iid, "logs") == {"after": "x"}  # the feed's cursor stays


def test_already_stored_counts_as_present_and_leaves_too(store: Store) -> None:
    iid = _quarantine(store, [(GOOD, "old bug")])
    from opencasb.apps.okta.normalize import normalize

    save_page(store, iid, "logs", [normalize(GOOD)], {"after": "y"})
    done = retry_rejected(store, instance="okta", clock=FakeClock(T0))
    assert (done.stored, done.duplicates) == (0, 1)
    assert store.count_rejected(iid) == 0


def test_a_failed_store_keeps_the_quarantine(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = _quarantine(store, [(GOOD, "old bug")])
    real = activities_module._write_page

    def write_then_fail(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the row is inserted and the record deleted, then it fails
        raise StoreError("disk full")

    monkeypatch.setattr(activities_module, "_write_page", write_then_fail)
    with pytest.raises(StoreError):
        retry_rejected(store, instance="okta", clock=FakeClock(T0))
    assert store.count_rejected(iid) == 1 and store.count_activities(iid) == 0


def test_unknown_ids_and_ids_of_another_instance(store: Store) -> None:
    _quarantine(store, [(GOOD, "old bug")])
    other = store.add_instance("okta", "other", {"domain": "import"}, {}, enabled=False)
    rid = store.list_rejected()[0].id
    with pytest.raises(NotFound, match="no rejected record"):
        retry_rejected(store, ids=[rid + 1000], clock=FakeClock(T0))
    with pytest.raises(NotFound, match="belongs to okta, not other"):
        retry_rejected(store, instance=other.name, ids=[rid], clock=FakeClock(T0))
    assert store.count_rejected(store.get_instance("okta").id) == 1


def test_reimporting_a_file_does_not_duplicate_its_quarantine(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{cut short\n" + json.dumps({**GOOD, "uuid": ""}) + "\n")
    for _ in range(3):
        import_file(store, "okta", path, instance="okta", clock=FakeClock(T0))
    iid = store.get_instance("okta").id
    assert store.count_rejected(iid) == 1  # the cut-short line, once
    assert store.count_activities(iid) == 2  # the empty uuid got a derived one
