"""Migrations: they reach head, are idempotent, and produce exactly the declared metadata."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from opencasb.store import Store, open_store
from opencasb.store.engine import migration_config
from opencasb.store.schema import metadata


def test_migrated_schema_equals_metadata(store: Store) -> None:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_migrations_are_idempotent(store_url: str, store: Store) -> None:
    with store.engine.connect() as conn:
        before = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    again = open_store(store_url)
    try:
        with again.engine.connect() as conn:
            after = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        again.close()
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert before == after == [head]


def test_sqlite_pragmas(tmp_path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'x.db'}")
    try:
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384
    finally:
        s.close()
