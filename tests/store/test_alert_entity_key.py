"""Alerts are found by entity case-folded on both engines: written by detection with their
key, and the rows stored before migration 0017 given theirs by it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import command

from opencasb.clock import FakeClock
from opencasb.store import Store, open_store
from opencasb.store.detection import AlertWrite
from opencasb.store.engine import migration_config

from .conftest import KEY, T0

_ENTITIES = ("Alice@Contoso.com", "ALICE@CONTOSO.COM", "Straße@Contoso.com", "00uAbC1", "bob@x")


def _ids(store: Store, entities: list[str], limit: int) -> list[str]:
    """Every id of the alerts of ``entities``, page by page."""
    out: list[str] = []
    after = None
    while True:
        page = store.detection.page_alerts(entities=entities, limit=limit, after=after)
        out += [a.id for a in page.items]
        if page.next is None:
            return out
        after = page.next


def _expect(store: Store) -> None:
    for limit in (1, 2, 50):
        assert _ids(store, ["alice@contoso.com"], limit) == ["a0", "a1"]
        assert _ids(store, ["STRASSE@contoso.com", "00UABC1"], limit) == ["a2", "a3"]
        assert _ids(store, ["Bob@X", "aLiCe@Contoso.COM"], limit) == ["a0", "a1", "a4"]
    assert _ids(store, ["alice"], 10) == [] and _ids(store, [], 10) == []
    assert [a.entity for a in store.detection.page_alerts().items] == list(_ENTITIES)


def test_detection_writes_the_key(store: Store) -> None:
    writes = [AlertWrite(f"a{i}", "p", "t", "low", "c", None, e, "x", (1,),
                         T0 - timedelta(seconds=i), T0 - timedelta(seconds=i), False)
              for i, e in enumerate(_ENTITIES)]  # fmt: skip
    store.detection.commit_stage(
        "t", expected=None, cursor=1, state="{}", new_alerts=writes, disabled={}
    )
    _expect(store)


def test_the_migration_keys_the_alerts_stored_before_it(store_url: str, clock: FakeClock) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(migration_config(conn), "0016")
        for i, entity in enumerate(_ENTITIES):
            conn.execute(
                sa.text(
                    "INSERT INTO alerts (id, policy_id, title, severity, category, entity, "
                    "explanation, evidence, first_time, last_time, historical, status, "
                    "created_at, updated_at) VALUES (:id, 'p', 't', 'low', 'c', :entity, 'x', "
                    "'[1]', :t, :t, false, 'open', 0, 0)"
                ),
                {"id": f"a{i}", "entity": entity, "t": 1_800_000_000_000_000 - i},
            )
    engine.dispose()
    store = open_store(store_url, key=KEY, clock=clock)
    try:
        _expect(store)
    finally:
        store.close()
