"""The anomaly detectors' daily alert limit in the detection stage: the counts are committed
with the cursor (a crash between evaluation and commit neither loses nor doubles them), the
next UTC day (event time) starts over, and ``suppressed_today`` (``opencasb policies list``,
``GET /api/v1/policies``) reports them by detector id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.detect.helpers import CommitCrasher
from tests.store.conftest import T0, make_activity, okta_instance, save_page

from opencasb.clock import FakeClock
from opencasb.detect.anomaly import AnomalySettings
from opencasb.detect.stage import DetectionStage, suppressed_today
from opencasb.errors import StoreError
from opencasb.model.activity import Actor
from opencasb.model.inventory import Account
from opencasb.store import Store

DISABLED = "anomaly.disabled_user_activity"
USERS = [f"zed{n}" for n in range(5)]


def _signin(i: int, user: str, at: timedelta) -> Any:
    return make_activity(
        i,
        time=T0 + at,
        source_event_id=f"{user}-{i}",
        actor=Actor(id=user, email=f"{user}@example.com", type="User"),
    )


def _run_with_crashes(store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passes of one activity each, every other commit killed before it happens."""
    crasher = CommitCrasher(monkeypatch)
    settings = AnomalySettings(daily_alert_limit=2)
    for _ in range(100):
        try:
            r = DetectionStage(store, clock, anomaly=settings).run_once(batch=1)
        except StoreError:
            continue
        if not r.committed:
            break
    else:
        pytest.fail("the stage never caught up")
    crasher.stop()
    assert crasher.calls > 5


def test_the_limit_holds_across_crashes_and_starts_over_the_next_day(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(T0 + timedelta(hours=1))
    iid = okta_instance(store)
    accounts = [
        Account(id=u, email=f"{u}@example.com", name=None, status="SUSPENDED") for u in USERS
    ]
    store.replace_inventory(iid, accounts, [])
    day1 = [_signin(n, u, timedelta(minutes=n)) for n, u in enumerate(USERS)]
    save_page(store, iid, "logs", day1, {"n": 1})
    _run_with_crashes(store, clock, monkeypatch)
    alerts = store.detection.list_alerts()
    assert sorted(a.entity for a in alerts) == ["zed0@example.com", "zed1@example.com"]
    assert suppressed_today(store, T0) == {DISABLED: 3}
    # two days later (event time): the counts start over, the day before's are not today's
    day3 = [_signin(10 + n, u, timedelta(days=2, minutes=n)) for n, u in enumerate(USERS)]
    save_page(store, iid, "logs", day3, {"n": 2})
    _run_with_crashes(store, clock, monkeypatch)
    alerts = store.detection.list_alerts()
    assert len([a for a in alerts if a.policy_id == DISABLED]) == 4
    assert suppressed_today(store, T0 + timedelta(days=2)) == {DISABLED: 3}
    assert suppressed_today(store, T0) == {}
