"""Fixtures of the notifier tests: a store on both engines with a fake clock, and a way to
raise alerts through the detection stage's own commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.store import Store, open_store
from opencasb.store.detection import AlertWrite

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


def alert(
    n: int, *, severity: str = "high", evidence: tuple[int, ...] = (), **over: object
) -> AlertWrite:
    fields: dict[str, object] = {
        "id": f"alert-{n:03d}",
        "policy_id": "tpl.mass_download",
        "title": f"Mass download: user{n}@example.com",
        "severity": severity,
        "category": "threat_detection",
        "tactic": "exfiltration",
        "entity": f"user{n}@example.com",
        "explanation": f"user{n} downloaded 60 files in 1 minute (threshold 50)",
        "evidence": evidence or (n,),
        "first_time": T0 + timedelta(minutes=n),
        "last_time": T0 + timedelta(minutes=n, seconds=30),
        "historical": False,
    }
    fields.update(over)
    return AlertWrite(**fields)  # type: ignore[arg-type]


def raise_alerts(store: Store, *alerts: AlertWrite) -> None:
    """Commit ``alerts`` as one detection-stage pass would (same transaction as its cursor)."""
    det = store.detection
    expected = det.get_stage("test")
    cursor = (expected.cursor if expected else 0) + 1
    assert det.commit_stage(
        "test", expected=expected, cursor=cursor, state="{}", new_alerts=alerts, disabled={}
    )
