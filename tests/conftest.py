"""Fixtures every suite may use: a store URL on SQLite and on PostgreSQL, and a store on it
with a fake clock at ``T0`` and the master key ``KEY`` (import them to reopen that store).

PostgreSQL tests each get a fresh schema on the local server (selected through the URL's
``search_path`` option, dropped afterwards) and are skipped when the server is unreachable
-- unless ``CI`` is set, where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.store import Store, open_store

KEY = generate_key()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PG_DSN = os.environ.get("OPENCASB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        if os.environ.get("CI"):
            raise
        return False


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    return _pg_available()


@pytest.fixture
def pg_url(pg_ok: bool) -> Iterator[str]:
    """A URL whose default schema is a fresh, empty schema, dropped afterwards."""
    if not pg_ok:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is unreachable (set CI=1 to fail instead)")
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL, once per engine: SQLite in the test's folder, PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'opencasb.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at ``T0`` until the test moves it."""
    return FakeClock(T0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on each engine of ``store_url``, with ``clock`` and ``KEY``."""
    s = open_store(store_url, key=KEY, clock=clock)
    try:
        yield s
    finally:
        s.close()


def sqlite_plan(store: Store, stmt: Any) -> list[str]:
    """The steps of SQLite's EXPLAIN QUERY PLAN for ``stmt`` (a SQLAlchemy statement) on
    ``store``, its parameters bound as the store would bind them."""
    compiled = stmt.compile(store.engine)
    params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    with store.engine.connect() as conn:
        return [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)]
