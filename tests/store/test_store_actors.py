"""Interned actors: the user filter through ``actors``, the per-instance cache, WAL checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from opencasb.crypto import generate_key
from opencasb.model.activity import Actor
from opencasb.store import ActivityQuery, Store, open_store

from .conftest import save_page


def _ids(store: Store, **kw: Any) -> list[str]:
    return [a.source_event_id for a in store.query_activities(ActivityQuery(**kw)).items]


def test_each_distinct_actor_is_interned_once_per_instance(store: Store, act: Any) -> None:
    acme = store.add_instance("okta", "acme", {}, {}).id
    other = store.add_instance("okta", "other", {}, {}).id
    save_page(store, acme, "logs", [act(i) for i in range(20)], {})  # 7 distinct actors
    save_page(store, acme, "logs", [act(i) for i in range(20, 40)], {})  # the same 7 again
    save_page(store, other, "logs", [act(i) for i in range(3)], {})
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT instance_id, count(*) FROM actors GROUP BY instance_id"))
        per_instance = {int(r[0]): int(r[1]) for r in rows}
    assert per_instance == {acme: 7, other: 3}


def test_actorless_activities_have_no_ref_and_match_no_user(store: Store, act: Any) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [act(0, actor=Actor()), act(1)], {})
    with store.engine.connect() as conn:
        refs = conn.execute(
            text("SELECT actor_ref FROM activities ORDER BY source_event_id")
        ).scalars()
        assert [r is None for r in refs] == [True, False]
    assert _ids(store, user="user 1") == ["evt-000001"]


def test_user_matching_several_actors_reads_each_branch(store: Store, act: Any) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    renamed = [
        act(i, actor=Actor("00uA", name, "a@example.com", "User"))
        for i, name in enumerate(["Ann", "Ann B", "Ann C"])
    ]
    namesake = act(3, actor=Actor("00uZ", "Ann", None, "User"))  # another user, same name
    save_page(store, iid, "logs", [*renamed, namesake], {})
    assert _ids(store, user="A@EXAMPLE.COM") == ["evt-000002", "evt-000001", "evt-000000"]
    assert _ids(store, user="ann") == ["evt-000003", "evt-000000"]
    assert _ids(store, user="00ua", limit=2) == ["evt-000002", "evt-000001"]


def test_cache_survives_removal_and_id_reuse(store: Store, act: Any) -> None:
    first = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, first, "logs", [act(i) for i in range(7)], {})
    # Another process removes the instance and a new one may get the same id (SQLite reuses
    # the highest rowid): this store's cache must not hand out the deleted actors' ids.
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM instances WHERE id = :i"), {"i": first})
    second = store.add_instance("okta", "acme2", {}, {}).id
    assert second == first or store.dialect == "postgresql"  # the case under test, on SQLite
    save_page(store, second, "logs", [act(i) for i in range(7)], {})
    assert _ids(store, user="user@example.com") == []
    assert _ids(store, user="user0@example.com") == ["evt-000000"]
    with store.engine.connect() as conn:
        dangling = conn.execute(
            text(
                "SELECT count(*) FROM activities WHERE actor_ref IS NOT NULL AND actor_ref "
                "NOT IN (SELECT id FROM actors)"
            )
        ).scalar()
    assert dangling == 0


def test_remove_instance_removes_its_actors(store: Store, act: Any) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [act(1)], {})
    store.remove_instance("acme")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM actors")).scalar() == 0


def test_background_checkpoints_stop_with_the_store(tmp_path: Path, act: Any) -> None:
    path = tmp_path / "x.db"
    s = open_store(f"sqlite:///{path}", key=generate_key())
    iid = s.add_instance("okta", "acme", {}, {}).id
    for page in range(5):
        save_page(s, iid, "logs", [act(page * 10 + i) for i in range(10)], {"p": page})
    s.close()  # joins the checkpoint thread; must not hang
    again = open_store(f"sqlite:///{path}", key=generate_key())
    try:
        assert again.count_activities(iid) == 50
        assert again.get_cursor(iid, "logs") == {"p": 4}
    finally:
        again.close()
