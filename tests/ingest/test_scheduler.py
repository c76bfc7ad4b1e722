"""Polling cadence and backoff, on a fake clock against the in-process emulator."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from opencasb.ingest.scheduler import Scheduler, next_due
from opencasb.model import Activity, HealthState
from opencasb.model.activity import Actor, Category, Outcome

from ..store.conftest import save_page
from .conftest import Org

MakeOrg = Callable[..., Org]


def test_polls_on_the_interval_and_finds_new_events(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    org.connect()
    sched = Scheduler(org.runner(), org.clock)
    assert [r.ok for r in sched.run_due()] == [True]
    assert sched.run_due() == []  # not due again yet
    assert sched.seconds_until_next() == 60.0
    org.clock.advance(60)
    assert len(sched.run_due()) == 1


def test_degraded_instances_back_off_and_errors_wait_for_the_user(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    org.connect()
    rec = org.store.get_instance("okta")
    now = org.clock.now()
    base = dataclasses.replace(rec.health, last_attempt=now)
    degraded = dataclasses.replace(base, state=HealthState.DEGRADED, consecutive_failures=3)
    assert next_due(rec, degraded) == now + timedelta(seconds=240)
    many = dataclasses.replace(degraded, consecutive_failures=30)
    assert next_due(rec, many) == now + timedelta(minutes=15)
    error = dataclasses.replace(base, state=HealthState.ERROR)
    assert next_due(rec, error) == now + timedelta(minutes=10)
    backfilling = dataclasses.replace(base, state=HealthState.BACKFILLING)
    assert next_due(rec, backfilling) == now
    disabled = org.store.update_instance("okta", enabled=False)
    assert next_due(disabled, base) is None


def test_disabled_instances_are_skipped_and_marked(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect()
    org.store.update_instance("okta", enabled=False)
    runner = org.runner()
    assert Scheduler(runner, org.clock).run_due() == []
    runner.run_once("okta")
    assert org.store.get_health(iid).state is HealthState.DISABLED
    assert org.store.count_activities(iid) == 0


def test_run_forever_stops_when_told(make_org: MakeOrg, caplog: pytest.LogCaptureFixture) -> None:
    org = make_org(size=50, days=1)
    org.connect()
    sched = Scheduler(org.runner(), org.clock)
    seen = []

    def on_result(result: object) -> None:
        seen.append(result)
        if len(seen) == 3:
            sched.stop.set()

    sched.on_result = on_result
    with caplog.at_level(logging.INFO, logger="opencasb.ingest.scheduler"):
        sched.run_forever()
    assert len(seen) == 3
    assert [r.message for r in caplog.records if r.name == "opencasb.ingest.scheduler"] == [
        "polling started",
        "polling stopped",
    ]
    assert org.clock.now() - org.sandbox.history_end >= timedelta(seconds=120)


def _old_activity(org: Org, sid: str, days: int) -> Activity:
    return Activity(
        time=org.clock.now() - timedelta(days=days),
        app="okta",
        source_event_id=sid,
        activity_type="user.session.start",
        category=Category.LOGON,
        action="User login to Okta",
        outcome=Outcome.SUCCESS,
        actor=Actor("00u1", "One", "one@example.com", "User"),
        raw={"uuid": sid},
    )


def test_the_polling_loop_prunes_past_the_retention_period_hourly(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect()
    save_page(
        org.store, iid, "old", [_old_activity(org, "a", 200), _old_activity(org, "b", 10)], {}
    )
    sched = Scheduler(org.runner(), org.clock, retention_days=180)
    seen: list[object] = []

    def on_result(result: object) -> None:
        seen.append(result)
        sched.stop.set()

    sched.on_result = on_result
    sched.run_forever()  # prunes before it polls
    ids = org.store.activity_ids(iid)
    assert "a" not in ids and "b" in ids and len(seen) == 1
    save_page(org.store, iid, "old", [_old_activity(org, "c", 300)], {})
    assert sched.prune_if_due() == 0  # pruned less than an hour ago
    org.clock.advance(3600)
    assert sched.prune_if_due() == 1
    keep_all = Scheduler(org.runner(), org.clock, retention_days=0)
    save_page(org.store, iid, "old", [_old_activity(org, "d", 3000)], {})
    assert keep_all.prune_if_due() == 0
    assert "d" in org.store.activity_ids(iid)
