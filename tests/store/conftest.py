"""Fixtures for the store contract suite: one suite, run on SQLite and on PostgreSQL.

PostgreSQL tests each get a fresh schema on the local server (selected through the URL's
``search_path`` option) and are skipped when the server is unreachable -- unless ``CI`` is
set, where a missing server is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite, SaveResult, Store, open_store

KEY = generate_key()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    s = open_store(store_url, key=KEY, clock=clock)
    try:
        yield s
    finally:
        s.close()


def make_activity(i: int, **over: Any) -> Activity:
    """A realistic Okta-like activity number ``i`` (time T0 + i seconds unless overridden)."""
    fields: dict[str, Any] = {
        "time": T0 + timedelta(seconds=i),
        "app": "okta",
        "source_event_id": f"evt-{i:06d}",
        "activity_type": "user.session.start",
        "category": Category.LOGON,
        "action": "User login to Okta",
        "outcome": Outcome.SUCCESS,
        "actor": Actor(
            id=f"00u{i % 7}", name=f"User {i % 7}", email=f"User{i % 7}@Example.com", type="User"
        ),
        "raw": {"uuid": f"evt-{i:06d}", "eventType": "user.session.start", "n": i},
        "targets": (
            Target(id="0oa1", type="AppInstance", name="Salesforce", alternate_id="salesforce"),
        ),
        "src_ip": f"198.51.100.{i % 250}",
        "geo": Geo("United States", "US", "California", "San Francisco", 37.77, -122.41),
        "user_agent": "Mozilla/5.0",
        "description": "User login to Okta",
        "details": {"authenticationContext": {"authenticationStep": 0}},
    }
    fields.update(over)
    return Activity(**fields)


@pytest.fixture
def act() -> Any:
    """The :func:`make_activity` factory (a fixture, so test modules need no imports)."""
    return make_activity


def save_page(
    store: Store,
    instance_id: int,
    feed: str,
    activities: Sequence[Activity],
    cursor: dict[str, Any],
    *,
    rejected: Sequence[tuple[dict[str, Any] | str, str]] = (),
) -> SaveResult:
    """Store one page of activities normalized here (``Store.save_pages`` of one page)."""
    page = PageWrite.of(instance_id, feed, activities, cursor, rejected=rejected)
    return store.save_pages([page])[0]
