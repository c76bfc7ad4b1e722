"""Fixtures for the filter tests: a real store on SQLite and on PostgreSQL.

The same pattern as tests/store/conftest.py: each PostgreSQL test gets a fresh schema on the
local server (skipped when it is unreachable, unless ``CI`` is set).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite, Store, open_store

PG_DSN = os.environ.get("OPENCASB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
KEY = generate_key()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


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
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'opencasb.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, key=KEY, clock=FakeClock(T0))
    try:
        yield s
    finally:
        s.close()


def make_activity(i: int, **over: Any) -> Activity:
    """An Okta-like activity number ``i`` (time T0 + i seconds unless overridden)."""
    fields: dict[str, Any] = {
        "time": T0 + timedelta(seconds=i),
        "app": "okta",
        "source_event_id": f"evt-{i:06d}",
        "activity_type": "user.session.start",
        "category": Category.LOGON,
        "action": "User login to Okta",
        "outcome": Outcome.SUCCESS,
        "actor": Actor(id=f"00u{i % 7}", name=f"User {i % 7}", email=f"User{i % 7}@Example.com"),
        "raw": {"uuid": f"evt-{i:06d}", "n": i, "debugContext": {"debugData": {}}},
        "targets": (Target(id="0oa1", type="AppInstance", name="Salesforce"),),
        "src_ip": f"198.51.100.{i % 250}",
        "geo": Geo("United States", "US", "California", "San Francisco", 37.77, -122.41),
        "description": "User login to Okta",
    }
    fields.update(over)
    return Activity(**fields)


def save(store: Store, instance_id: int, activities: Sequence[Activity]) -> None:
    store.save_pages([PageWrite.of(instance_id, "logs", activities, {"n": len(activities)})])
