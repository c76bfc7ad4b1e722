"""Helpers of the store contract suite (one suite, run on SQLite and on PostgreSQL): realistic
activities and a one-page save. The ``store`` and ``clock`` fixtures, ``KEY`` and ``T0`` are
the root conftest's (re-exported here for the modules that import them from this one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from tests.conftest import KEY, T0

from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite, SaveResult, Store

__all__ = ["KEY", "T0", "failed_sign_in", "make_activity", "okta_instance", "save_page"]


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


def failed_sign_in(n: int, user: str = "mallory", at: timedelta | float | None = None) -> Activity:
    """Activity ``n``: a failed sign-in of ``user`` (``user@example.com``) from 203.0.113.7,
    at ``T0 + at`` (a timedelta, or seconds; default ``n`` seconds)."""
    offset = timedelta(seconds=n if at is None else at) if not isinstance(at, timedelta) else at
    return make_activity(
        n,
        time=T0 + offset,
        source_event_id=f"fail-{user}-{n}",
        outcome=Outcome.FAILURE,
        actor=Actor(id=user, email=f"{user}@example.com", type="User"),
        src_ip="203.0.113.7",
    )


def okta_instance(store: Store) -> int:
    """A new Okta instance ``acme`` (no settings, no secrets); its id."""
    return store.add_instance("okta", "acme", {}, {}).id


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
    """Store one page of activities normalized here (``Store.save_pages`` of one page),
    enriched with the store's enricher as ingest enriches them."""
    page = PageWrite.of(
        instance_id, feed, activities, cursor, rejected=rejected, enricher=store.enricher
    )
    return store.save_pages([page])[0]
