"""Fixtures every suite may use: a store URL on SQLite and on PostgreSQL.

PostgreSQL tests each get a fresh schema on the local server (selected through the URL's
``search_path`` option, dropped afterwards) and are skipped when the server is unreachable
-- unless ``CI`` is set, where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

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
