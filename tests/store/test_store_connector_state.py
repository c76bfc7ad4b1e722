"""Connector state: its own table, keyed per instance, never a cursor row."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from opencasb.clock import FakeClock
from opencasb.store import Store, open_store
from opencasb.store.engine import migration_config

from .conftest import KEY

STATE_REVISION = "0003"  # the migration that moved the reserved cursor rows


def test_state_is_saved_replaced_and_kept_apart_from_cursors(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    other = store.add_instance("okta", "other", {}, {}).id
    assert store.get_state(iid, "services") is None
    store.set_state(iid, "services", {"Exchange": "2026-11-01T12:00:00+00:00"})
    store.set_state(iid, "services", {"Exchange": "x", "Teams": "y"})
    assert store.get_state(iid, "services") == {"Exchange": "x", "Teams": "y"}
    assert store.get_state(other, "services") is None
    assert store.get_cursor(iid, "services") is None  # a feed may be called "services"
    store.remove_instance("acme")
    assert store.get_state(iid, "services") is None


def test_the_migration_moves_the_reserved_cursor_rows(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = ScriptDirectory.from_config(migration_config()).get_revision(STATE_REVISION)
    assert before is not None and isinstance(before.down_revision, str)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(migration_config(conn), before.down_revision)
        conn.exec_driver_sql(
            "INSERT INTO instances (id, name, app, config, secrets_enc, enabled, "
            "interval_seconds, created_at) VALUES (1, 'm365', 'office365', '{}', '', 1, 60, 0)"
        )
        for feed, cursor in (
            ("services", '{"Exchange": "2026-11-01T00:00:00+00:00"}'),
            ("inventory", '{"at": "2026-11-02T00:00:00+00:00"}'),
            ("content:Audit.Exchange", '{"since": "x"}'),
        ):
            conn.exec_driver_sql(
                "INSERT INTO cursors (instance_id, feed, cursor, updated_at) VALUES (1, ?, ?, 5)",
                (feed, cursor),
            )
    engine.dispose()
    store = open_store(url, key=KEY, clock=clock)
    try:
        assert store.get_state(1, "services") == {"Exchange": "2026-11-01T00:00:00+00:00"}
        assert store.get_state(1, "inventory") == {"at": "2026-11-02T00:00:00+00:00"}
        assert store.get_cursor(1, "services") is None
        assert store.get_cursor(1, "inventory") is None
        assert store.get_cursor(1, "content:Audit.Exchange") == {"since": "x"}
    finally:
        store.close()
