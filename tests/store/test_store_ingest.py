"""save_pages: atomic (activities + rejects + cursor), deduplicating, quarantining."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from opencasb.errors import StoreError
from opencasb.store import ActivityQuery, PageWrite, SaveResult, Store
from opencasb.store import activities as activities_module
from opencasb.store.pages import encode_activities

from .conftest import save_page


@pytest.fixture
def iid(store: Store) -> int:
    return store.add_instance("okta", "acme", {}, {}).id


def test_first_page_and_cursor(store: Store, iid: int, act: Any) -> None:
    assert store.get_cursor(iid, "logs") is None
    assert store.newest_activity_time(iid) is None
    res = save_page(store, iid, "logs", [act(i) for i in range(10)], {"after": "evt-000009"})
    assert res == SaveResult(inserted=10, duplicates=0)
    assert store.get_cursor(iid, "logs") == {"after": "evt-000009"}
    assert store.get_cursor(iid, "other") is None
    assert store.count_activities(iid) == store.count_activities() == 10
    assert store.activity_ids(iid) == {f"evt-{i:06d}" for i in range(10)}
    assert store.newest_activity_time(iid) == act(9).time


def test_dedupe_across_pages_and_within_a_page(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "logs", [act(i) for i in range(5)], {"p": 1})
    page = [act(i) for i in range(3, 8)] + [act(7), act(6, action="changed")]
    res = save_page(store, iid, "logs", page, {"p": 2})
    assert res == SaveResult(inserted=3, duplicates=4)
    assert store.count_activities(iid) == 8
    assert store.get_cursor(iid, "logs") == {"p": 2}
    # Within a page, the first occurrence wins.
    with store.engine.connect() as conn:
        action = conn.execute(
            text("SELECT action FROM activities WHERE source_event_id = 'evt-000006'")
        ).scalar()
    assert action == "User login to Okta"


def test_same_event_id_in_two_instances_is_two_activities(store: Store, iid: int, act: Any) -> None:
    other = store.add_instance("okta", "other", {}, {}).id
    save_page(store, iid, "logs", [act(1)], {})
    assert save_page(store, other, "logs", [act(1)], {}).inserted == 1
    assert store.count_activities() == 2


def test_empty_page_still_moves_the_cursor(store: Store, iid: int) -> None:
    assert save_page(store, iid, "logs", [], {"since": "x"}) == SaveResult(0, 0)
    assert store.get_cursor(iid, "logs") == {"since": "x"}


def test_invalid_activity_stores_nothing(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "logs", [act(0)], {"p": 1})
    naive = act(2, time=datetime(2026, 11, 1, 12, 0))  # breaks the aware-time contract
    with pytest.raises(StoreError, match="evt-000002"):
        save_page(store, iid, "logs", [act(1), naive, act(3)], {"p": 2})
    unserializable = act(4, raw={"x": object()})
    with pytest.raises(StoreError, match="evt-000004"):
        save_page(store, iid, "logs", [act(4), unserializable], {"p": 2})
    with pytest.raises(StoreError, match="category"):
        save_page(store, iid, "logs", [act(5, category="nonsense")], {"p": 2})
    assert store.activity_ids(iid) == {"evt-000000"}
    assert store.get_cursor(iid, "logs") == {"p": 1}


def test_failure_inside_the_transaction_rolls_everything_back(
    store: Store, iid: int, act: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_page(store, iid, "logs", [act(0)], {"p": 1})

    def boom(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(activities_module, "_upsert_cursor", boom)
    with pytest.raises(RuntimeError):
        save_page(store, iid, "logs", [act(1), act(2)], {"p": 2}, rejected=[("bad", "err")])
    monkeypatch.undo()
    assert store.activity_ids(iid) == {"evt-000000"}
    assert store.get_cursor(iid, "logs") == {"p": 1}
    assert store.count_rejected(iid) == 0
    # And the store still works afterwards (the connection was returned clean).
    assert save_page(store, iid, "logs", [act(1), act(2)], {"p": 2}).inserted == 2


def test_rejected_records_are_kept_verbatim(store: Store, iid: int, act: Any) -> None:
    raw_text = '{"uuid": "broken", "published": not-json'
    save_page(
        store,
        iid,
        "logs",
        [act(1)],
        {"p": 1},
        rejected=[({"uuid": "r1", "eventType": None}, "no eventType"), (raw_text, "bad JSON")],
    )
    assert store.count_rejected(iid) == 2
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT feed, raw, error FROM rejected_records ORDER BY id")).all()
    assert rows[0].feed == "logs" and '"uuid":"r1"' in rows[0].raw
    assert rows[0].error == "no eventType"
    assert rows[1].raw == raw_text


def test_remove_instance_cascades(store: Store, iid: int, act: Any) -> None:
    save_page(store, iid, "logs", [act(1)], {"p": 1}, rejected=[("x", "y")])
    store.remove_instance("acme")
    assert store.count_activities() == 0
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cursors")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM rejected_records")).scalar() == 0


def test_round_trip_preserves_every_field(store: Store, iid: int, act: Any) -> None:
    from opencasb.store import ActivityQuery

    a = act(
        1,
        severity="WARN",
        asn=13335,
        isp="Cloudflare",
        device="Computer",
        outcome_detail="CHALLENGE",
        outcome_reason="VERIFICATION_ERROR",
        raw={"uuid": "evt-000001", "nested": {"list": [1, 2.5, None, "é"]}},
    )
    save_page(store, iid, "logs", [a], {})
    (back,) = store.query_activities(ActivityQuery()).items
    expected_actor = a.actor.__class__(
        a.actor.id, a.actor.name, a.actor.email.lower(), a.actor.type
    )
    assert back == a.__class__(
        **{**{f: getattr(a, f) for f in a.__slots__}, "instance": "acme", "actor": expected_actor}
    )


def test_an_encoded_page_is_stored_as_a_page_of_activities_is(store: Store, act: Any) -> None:
    """A page encoded ahead (raw JSON supplied by position) keeps the same rows, actors,
    rejects and cursor as a page of activities encoded by PageWrite.of."""
    direct = store.add_instance("okta", "direct", {}, {}).id
    encoded = store.add_instance("okta", "encoded", {}, {}).id
    batch = [act(i) for i in range(12)]
    rejects: list[tuple[dict[str, Any] | str, str]] = [("not json", "bad"), ({"x": 1}, "worse")]
    save_page(store, direct, "logs", batch, {"p": 1}, rejected=rejects)
    # Records 0 and 5 of the fetched page were rejected; the others map to the activities.
    positions = [i for i in range(14) if i not in (0, 5)]
    texts = ["?"] * 14
    for p, a in zip(positions, batch, strict=True):
        texts[p] = orjson.dumps(a.raw).decode()
    page = encode_activities(encoded, batch, positions=positions, texts=texts)
    res = store.save_pages([PageWrite(encoded, "logs", page, texts, {"p": 1}, rejects)])[0]

    assert res == SaveResult(inserted=12, duplicates=0, quarantined=2)
    assert store.get_cursor(encoded, "logs") == {"p": 1}
    assert store.count_rejected(encoded) == 2
    got = store.query_activities(ActivityQuery(instance="encoded", limit=50)).items
    want = store.query_activities(ActivityQuery(instance="direct", limit=50)).items
    assert [dataclasses.replace(a, instance="") for a in got] == [
        dataclasses.replace(a, instance="") for a in want
    ]
    # The user filter goes through the interned actors, so they were resolved too.
    mine = store.query_activities(ActivityQuery(instance="encoded", user="user3@example.com"))
    assert {a.source_event_id for a in mine.items} == {"evt-000003", "evt-000010"}
    again = store.save_pages([PageWrite(encoded, "logs", page, texts, {"p": 2})])[0]
    assert again == SaveResult(inserted=0, duplicates=12)


def test_an_activity_breaking_the_contract_is_named_when_encoded(act: Any) -> None:
    with pytest.raises(StoreError, match=r"evt-000002.*#2 of the page"):
        encode_activities(1, [act(0), act(1), act(2, time=datetime(2026, 1, 1))])
