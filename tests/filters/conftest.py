"""Fixtures for the filter tests: a real store on SQLite and on PostgreSQL.

The same pattern as tests/store/conftest.py: each PostgreSQL test gets a fresh schema on the
local server (skipped when it is unreachable, unless ``CI`` is set).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite, Store, open_store

KEY = generate_key()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


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
