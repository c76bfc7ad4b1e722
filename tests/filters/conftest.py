"""Helpers of the filter tests: Okta-like activities and a one-page save. The ``store``
fixture (SQLite and PostgreSQL) and ``T0`` are the root conftest's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from tests.conftest import T0

from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite, Store

__all__ = ["T0", "make_activity", "save"]


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
