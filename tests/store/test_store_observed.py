"""The detection stage's read (:mod:`opencasb.store.observed`), on both engines: what it takes
from the columns (time, type, category, user key, e-mail key) is what the decoded body
gives, for every kind of actor and every category, whoever wrote the row last; a row stored
before migration 0016 (those columns NULL) reads the same; an unknown category in the
column is a StoreError naming the row; a damaged body is found only when it is decoded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Actor, Category
from opencasb.store import Store
from opencasb.store.codec import CORRUPT_FIX
from opencasb.store.micros import to_micros
from opencasb.store.observed import Observed

from .conftest import make_activity, okta_instance, save_page

ACTORS = {
    "mixed-case e-mail": Actor(id="00u1", name="Ann Lee", email="Ann.Lee@Example.COM", type="User"),
    # lower() keeps ß, casefold() makes it ss: the key is the case-folded one either way
    "lower and casefold differ": Actor(id="00u2", email="Straße@Example.DE", type="User"),
    "empty e-mail, an id": Actor(id="00u3", name="Bob", email="", type="User"),
    "a name only": Actor(name="Backup Service", type="App"),
    "empty actor": Actor(),
}
# what Actor.user_key gives for each, written out: the columns must not merely agree with a
# decoder that is wrong in the same way
KEYS = {
    "mixed-case e-mail": ("ann.lee@example.com", True),
    "lower and casefold differ": ("strasse@example.de", True),
    "empty e-mail, an id": ("00u3", False),
    "a name only": ("Backup Service", False),
    "empty actor": ("", False),
}
NULL_COLUMNS = "UPDATE activities SET category = NULL, user_key = NULL, key_is_email = NULL"


def _varied() -> list[Activity]:
    """One activity per category, the actors taking turns (each actor several times)."""
    actors = list(ACTORS.values())
    return [
        make_activity(
            n,
            category=category,
            activity_type=f"vendor.{category.value}.event",
            actor=actors[n % len(actors)],
        )
        for n, category in enumerate(Category)
    ]


def _head(o: Observed) -> tuple[Any, ...]:
    return (o.id, o.instance_id, o.t, o.activity_type, o.category, o.user_key, o.email_key)


def _decoded_head(o: Observed) -> tuple[Any, ...]:
    """What :func:`_head` must be: taken from the decoded activity."""
    a = o.activity
    key = a.actor.user_key
    return (
        o.id,
        o.instance_id,
        to_micros(a.time),
        a.activity_type,
        a.category,
        key,
        key if a.actor.email else None,
    )


def _sql(store: Store, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _columns(store: Store) -> dict[int, tuple[Any, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, category, user_key, key_is_email FROM activities ORDER BY id")
        ).all()
    return {int(r[0]): (r[1], r[2], None if r[3] is None else bool(r[3])) for r in rows}


@pytest.mark.parametrize("kind", ACTORS)
def test_the_user_columns_are_the_decoded_actors_key(store: Store, kind: str) -> None:
    iid = okta_instance(store)
    save_page(store, iid, "logs", [make_activity(1, actor=ACTORS[kind])], {"n": 1})
    (o,) = store.detection.observed_after({}, 10)
    key, is_email = KEYS[kind]
    assert (o.user_key, o.email_key) == (key, key if is_email else None)
    assert _head(o) == _decoded_head(o)
    assert _columns(store)[o.id][1:] == (key, is_email)


def test_every_category_and_actor_reads_as_its_body(store: Store) -> None:
    iid = okta_instance(store)
    acts = _varied()
    save_page(store, iid, "logs", acts, {"n": 1})
    observed = store.detection.observed_after({}, 100)
    assert [o.category for o in observed] == list(Category)
    assert all(type(o.category) is Category for o in observed)
    assert [o.activity_type for o in observed] == [a.activity_type for a in acts]
    assert [o.t for o in observed] == [to_micros(a.time) for a in acts]
    assert [_head(o) for o in observed] == [_decoded_head(o) for o in observed]
    assert {c for c, _, _ in _columns(store).values()} == {c.value for c in Category}
    # the read in full (activities_by_id decodes every row eagerly) agrees
    eager = store.detection.activities_by_id([o.id for o in observed])
    assert [o.activity for o in observed] == [eager[o.id] for o in observed]


def test_a_row_stored_before_0016_reads_the_same(store: Store) -> None:
    iid = okta_instance(store)
    save_page(store, iid, "logs", _varied(), {"n": 1})
    before = store.detection.observed_after({}, 100)
    heads = [_head(o) for o in before]
    activities = [o.activity for o in before]
    enrichments = [o.enrichment for o in before]
    # every other row as a version before 0016 left it: a batch of both kinds
    nulled = [o.id for o in before[::2]]
    for rid in nulled:
        _sql(store, f"{NULL_COLUMNS} WHERE id = :id", id=rid)
    assert [rid for rid, cols in _columns(store).items() if cols == (None, None, None)] == nulled
    after = store.detection.observed_after({}, 100)
    assert [_head(o) for o in after] == heads
    assert [o.enrichment for o in after] == enrichments
    assert [o.activity for o in after] == activities
    # a cursor and a limit read the same rows either way
    assert [_head(o) for o in store.detection.observed_after({iid: heads[2][0]}, 3)] == heads[3:6]


def test_a_row_stored_before_0016_with_a_damaged_body_fails_its_read(store: Store) -> None:
    """Such a row is decoded while it is read: the read names it."""
    iid = okta_instance(store)
    save_page(store, iid, "logs", [make_activity(i) for i in range(3)], {"n": 1})
    rid = store.detection.observed_after({}, 10)[1].id
    _sql(store, f"{NULL_COLUMNS}, body = :b WHERE id = :id", id=rid, b=b"not a body")
    with pytest.raises(StoreError, match=f"activities row {rid} cannot be read") as info:
        store.detection.observed_after({}, 10)
    assert info.value.fix == CORRUPT_FIX
    assert [o.id for o in store.detection.observed_after({iid: rid}, 10)] == [rid + 1]


@pytest.mark.parametrize("value", ["nope", "LOGON", ""])
def test_an_unknown_category_in_the_column_names_the_row(store: Store, value: str) -> None:
    iid = okta_instance(store)
    save_page(store, iid, "logs", [make_activity(i) for i in range(3)], {"n": 1})
    rid = store.detection.observed_after({}, 10)[1].id
    _sql(store, "UPDATE activities SET category = :c WHERE id = :id", id=rid, c=value)
    message = f"activities row {rid} cannot be read: unknown category {value!r}"
    with pytest.raises(StoreError, match=message) as info:
        store.detection.observed_after({}, 10)
    assert info.value.fix == CORRUPT_FIX
    # the body is not asked: the rows around it still read
    assert [o.id for o in store.detection.observed_after({}, 1)] == [rid - 1]
    assert [o.id for o in store.detection.observed_after({iid: rid}, 10)] == [rid + 1]


def test_a_damaged_body_is_found_when_decoded_and_not_before(store: Store) -> None:
    iid = okta_instance(store)
    acts = [make_activity(i, actor=ACTORS["lower and casefold differ"]) for i in range(3)]
    save_page(store, iid, "logs", acts, {"n": 1})
    good = {o.id: _head(o) for o in store.detection.observed_after({}, 10)}
    rid = sorted(good)[1]
    _sql(store, "UPDATE activities SET body = :b WHERE id = :id", id=rid, b=b"\x00garbage\xff")
    observed = store.detection.observed_after({}, 10)
    # read: the columns are all there
    assert {o.id: _head(o) for o in observed} == good
    damaged = observed[1]
    assert damaged.id == rid
    for _ in range(2):  # every use, not only the first; the enrichment needs the body too
        with pytest.raises(StoreError, match=f"activities row {rid} cannot be read"):
            _ = damaged.activity
        with pytest.raises(StoreError, match=f"activities row {rid} cannot be read"):
            _ = damaged.enrichment
    # the other rows of the batch decode, each once
    first = observed[0].activity
    assert observed[0].activity is first and first.actor.email == "straße@example.de"
    assert observed[2].activity.source_event_id == acts[2].source_event_id


def test_an_api_page_replacing_an_import_rewrites_the_columns(store: Store) -> None:
    iid = okta_instance(store)
    imported = make_activity(
        1, category=Category.FILE, activity_type="file.download", actor=ACTORS["a name only"]
    )
    save_page(store, iid, "import:okta.json", [imported], {"line": 1})
    (before,) = store.detection.observed_after({}, 10)
    assert (before.category, before.user_key) == (Category.FILE, "Backup Service")
    api = make_activity(1, actor=ACTORS["mixed-case e-mail"])  # the same event id
    assert save_page(store, iid, "logs", [api], {"n": 1}).replaced == 1
    (after,) = store.detection.observed_after({}, 10)
    assert after.id == before.id
    assert _head(after) == _decoded_head(after)
    assert (after.category, after.user_key) == (Category.LOGON, "ann.lee@example.com")


def test_several_instances_read_the_first_rows_in_id_order(store: Store) -> None:
    """Over three instances whose rows interleave, every cursor, bound and limit reads the
    first ``limit`` new rows in id order, as a scan of all of them would: what each
    instance contributes is worked out before any row is read whole."""
    iids = [okta_instance(store)] + [
        store.add_instance("okta", f"other{n}", {}, {}).id for n in range(2)
    ]
    n = 0
    for turn in range(4):  # pages of uneven sizes, instances taking turns
        for k, iid in enumerate(iids):
            size = 1 + (turn + k) % 3
            save_page(store, iid, "logs", [make_activity(n + i) for i in range(size)], {"t": turn})
            n += size
    every = [(o.id, o.instance_id) for o in store.detection.observed_after({}, 1000)]
    assert len(every) == n and [i for i, _ in every] == sorted(i for i, _ in every)
    ids = {iid: [i for i, x in every if x == iid] for iid in iids}

    def expected(cursors: dict[int, int], limit: int, upto: dict[int, int] | None) -> list[int]:
        new = [
            i
            for i, iid in every
            if i > cursors.get(iid, 0) and (upto is None or i <= upto.get(iid, 0))
        ]
        return new[:limit]

    cases = 0
    for a in (0, 1, 3):
        for b in (0, 2, len(ids[iids[1]])):
            cursors = {iids[0]: ids[iids[0]][a - 1] if a else 0}
            if b:
                cursors[iids[1]] = ids[iids[1]][b - 1]
            for limit in (1, 2, 5, 100):
                for upto in (
                    None,
                    {iid: ids[iid][-2] for iid in iids},
                    {iids[2]: ids[iids[2]][-1]},
                ):
                    got = [o.id for o in store.detection.observed_after(cursors, limit, upto)]
                    assert got == expected(cursors, limit, upto), (cursors, limit, upto)
                    cases += 1
    assert cases == 3 * 3 * 4 * 3
