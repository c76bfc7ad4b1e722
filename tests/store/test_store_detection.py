"""Detection in the store, on both engines: policies, the stage's conditional commit, alerts
(one per episode, extended, never doubled), closing and comments, and the detection stage
itself (crash before commit, a second process, auto-disable, re-enable)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import orjson
import pytest
from tests.conftest import sqlite_plan
from tests.store.conftest import (
    KEY,
    T0,
    failed_sign_in,
    make_activity,
    okta_instance,
    save_page,
)

from opencasb.clock import FakeClock
from opencasb.detect.stage import (
    ANOMALY_STAGE,
    STAGE,
    DetectionStage,
    store_policy,
    stored_policies,
)
from opencasb.detect.templates import template
from opencasb.errors import ConfigError, NotFound, StoreError
from opencasb.model.activity import Actor
from opencasb.model.inventory import Account
from opencasb.store import Store, open_store
from opencasb.store import detection as det_module
from opencasb.store.detection import AlertWrite


def _enable(store: Store, template_id: str) -> None:
    store_policy(store, dataclasses.replace(template(template_id), enabled=True))


def _write(i: int, evidence: tuple[int, ...]) -> AlertWrite:
    return AlertWrite(
        id="a1",
        policy_id="p",
        title="t",
        severity="high",
        category="threat_detection",
        tactic=None,
        entity="ana@example.com",
        explanation=f"pass {i}",
        evidence=evidence,
        first_time=T0 + timedelta(seconds=i),
        last_time=T0 + timedelta(seconds=i + 10),
        historical=False,
    )


def test_policies_round_trip_and_disable_keeps_reason(store: Store) -> None:
    det = store.detection
    _enable(store, "failed-sign-ins")
    (rec,) = det.list_policies()
    assert rec.enabled and rec.disabled_reason is None
    (policy,) = stored_policies([rec])
    assert policy.id == "failed-sign-ins" and policy.enabled and policy.repeated is not None
    det.set_policy_enabled(rec.id, False, "too noisy")
    (rec,) = det.list_policies()
    assert not rec.enabled and rec.disabled_reason == "too noisy"
    assert not stored_policies([rec])[0].enabled
    det.set_policy_enabled(rec.id, True)
    assert det.list_policies()[0].disabled_reason is None
    with pytest.raises(NotFound):
        det.set_policy_enabled("nope", True)


def test_commit_is_conditional_on_the_cursor_and_state_and_extends_alerts(
    store: Store,
) -> None:
    det = store.detection
    assert det.get_stage("s") is None
    ok = det.commit_stage(
        "s", expected=None, cursor=5, state="{}", new_alerts=[_write(0, (1, 2))], disabled={}
    )
    assert ok
    first = det_module.StageState(5, "{}")
    assert det.get_stage("s") == first
    # a second process that started from the same (absent) row commits nothing
    assert not det.commit_stage(
        "s", expected=None, cursor=5, state="{}", new_alerts=[_write(0, (9,))], disabled={}
    )
    for stale in (det_module.StageState(4, "{}"), det_module.StageState(5, '{"old":1}')):
        assert not det.commit_stage(
            "s", expected=stale, cursor=6, state="{}", new_alerts=[_write(0, (9,))], disabled={}
        )
    assert det.get_stage("s") == first
    assert det.commit_stage(
        "s", expected=first, cursor=8, state='{"x":1}', new_alerts=[_write(5, (2, 3))], disabled={}
    )
    (alert,) = det.list_alerts()
    assert alert.evidence == (1, 2, 3)  # the union, each id once
    assert alert.first_time == T0 and alert.last_time == T0 + timedelta(seconds=15)
    assert alert.explanation == "pass 5" and alert.status == "open"
    assert det.get_stage("s") == det_module.StageState(8, '{"x":1}')


def test_cursors_are_per_instance(store: Store, clock: FakeClock) -> None:
    """A lower id committed after a higher one of another instance (two syncs on PostgreSQL)
    is still read: each instance has its own cursor."""
    a = okta_instance(store)
    b = store.add_instance("okta", "other", {}, {}).id
    save_page(store, a, "logs", [failed_sign_in(i) for i in range(6)], {"n": 1})
    save_page(store, b, "logs", [failed_sign_in(i, "bo") for i in range(6)], {"n": 1})
    det = store.detection
    ids_a = [i for i, iid, _ in det.activities_after({}, 100) if iid == a]
    ids_b = [i for i, iid, _ in det.activities_after({}, 100) if iid == b]
    assert len(ids_a) == len(ids_b) == 6 and max(ids_a) < min(ids_b)
    # b was read up to its last id, a not yet (its transaction committed later)
    late = det.activities_after({b: max(ids_b)}, 100)
    assert [i for i, _, _ in late] == ids_a
    assert [i for i, _, _ in det.activities_after({b: max(ids_b)}, 4)] == ids_a[:4]
    assert det.activities_after({a: max(ids_a), b: max(ids_b)}, 100) == []


def test_close_and_comment(store: Store) -> None:
    det = store.detection
    det.commit_stage(
        "s", expected=None, cursor=1, state="{}", new_alerts=[_write(0, (1,))], disabled={}
    )
    with pytest.raises(ConfigError):
        det.close_alert("a1", "maybe")
    with pytest.raises(NotFound):
        det.close_alert("zz", "benign")
    assert det.comment_alert("a", "looking") == "a1"  # an unambiguous prefix is enough
    det.close_alert("a1", "false_positive", comment="the help desk")
    alert = det.get_alert("a1")
    assert alert.status == "closed" and alert.resolution == "false_positive"
    assert [c.text for c in alert.comments] == ["looking", "the help desk"]
    assert det.list_alerts(status="open") == []
    assert len(det.list_alerts(status="closed", severity="high")) == 1
    assert det.list_alerts(severity="low") == []


def test_stage_raises_one_alert_per_episode_and_reads_only_new_activities(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    _enable(store, "failed-sign-ins")
    stage = DetectionStage(store, clock)
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(11)], {"n": 1})
    save_page(store, iid, "logs", [failed_sign_in(i, "ana") for i in range(5)], {"n": 2})
    r = stage.run_once()
    assert (r.read, r.alerts, r.committed) == (16, 1, True)
    (alert,) = store.detection.list_alerts()
    assert alert.entity == "mallory@example.com" and len(alert.evidence) == 11
    assert store.detection.activities_by_id(alert.evidence).keys() == set(alert.evidence)
    assert "11 failed sign-ins" in alert.explanation
    assert stage.run_once().read == 0  # nothing new: nothing read, nothing written
    # the attack goes on: the same alert is extended
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(20, 31)], {"n": 3})
    assert stage.run_once().alerts == 1
    (alert,) = store.detection.list_alerts()
    assert len(alert.evidence) == 22


def test_stage_late_activity_meets_its_neighbours_in_event_time(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    _enable(store, "failed-sign-ins")
    stage = DetectionStage(store, clock)
    save_page(store, iid, "logs", [failed_sign_in(i, at=i) for i in range(10)], {"n": 1})
    assert stage.run_once().alerts == 0
    # a late failure: newer id, event time in the middle of the others
    save_page(store, iid, "logs", [failed_sign_in(99, at=4.5)], {"n": 2})
    assert stage.run_once().alerts == 1


def test_stage_crash_before_commit_raises_the_same_alerts_once(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = okta_instance(store)
    _enable(store, "failed-sign-ins")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(11)], {"n": 1})
    real = det_module.commit_stages

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise StoreError("the database went away")

    monkeypatch.setattr(det_module, "commit_stages", crash)
    with pytest.raises(StoreError):
        DetectionStage(store, clock).run_once()
    assert store.detection.list_alerts() == [] and store.detection.get_stage(STAGE) is None
    monkeypatch.setattr(det_module, "commit_stages", real)
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(11, 13)], {"n": 2})
    assert DetectionStage(store, clock).run_once().committed
    assert DetectionStage(store, clock).run_once().read == 0
    (alert,) = store.detection.list_alerts()
    assert len(alert.evidence) >= 11
    ids = sorted(i for i, _, _ in store.detection.activities_after({}, 100))
    assert set(alert.evidence) <= set(ids)


def test_crash_inside_the_transaction_rolls_everything_back(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = okta_instance(store)
    _enable(store, "failed-sign-ins")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(11)], {"n": 1})
    real = det_module._write_alert

    def write_then_crash(*args: Any) -> None:
        real(*args)
        raise RuntimeError("killed after writing the alert")

    monkeypatch.setattr(det_module, "_write_alert", write_then_crash)
    with pytest.raises(RuntimeError):
        DetectionStage(store, clock).run_once()
    assert store.detection.list_alerts() == [] and store.detection.get_stage(STAGE) is None
    monkeypatch.setattr(det_module, "_write_alert", real)
    DetectionStage(store, clock).run_once()
    DetectionStage(store, clock).run_once()
    assert len(store.detection.list_alerts()) == 1


def test_auto_disabled_policy_is_saved_disabled_with_its_reason_and_can_come_back(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    _enable(store, "failed-sign-ins")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(30)], {"n": 1})
    stage = DetectionStage(store, clock, max_matches_per_day=20)
    r = stage.run_once()
    assert r.disabled == ("failed-sign-ins",)
    (rec,) = store.detection.list_policies()
    assert (
        not rec.enabled and rec.disabled_reason and "Disabled automatically" in rec.disabled_reason
    )
    # enabled again by the user: the engine forgets the disable and evaluates it again
    store.detection.set_policy_enabled(rec.id, True)
    save_page(
        store, iid, "logs", [failed_sign_in(i, "eve", at=40_000 + i) for i in range(11)], {"n": 2}
    )
    DetectionStage(store, clock).run_once()
    assert store.detection.list_policies()[0].enabled
    assert any(a.entity == "eve@example.com" for a in store.detection.list_alerts())


def test_stage_respects_the_daily_alert_limit(store: Store, clock: FakeClock) -> None:
    from opencasb.detect import read_policies

    iid = okta_instance(store)
    (policy,) = read_policies(
        """
policies:
  - id: every-failure
    name: Every failure
    severity: low
    category: threat_detection
    daily_alert_limit: 2
    filter: {field: outcome, equals: failure}
"""
    )
    store_policy(store, policy)
    save_page(store, iid, "logs", [failed_sign_in(i, f"u{i}") for i in range(5)], {"n": 1})
    DetectionStage(store, clock).run_once()
    assert len(store.detection.list_alerts()) == 2  # the other three are counted, not raised
    state = store.detection.get_stage(STAGE)
    assert state is not None and '"every-failure"' in state.state


def _zed_signs_in(i: int) -> Any:
    return make_activity(
        i, source_event_id=f"zed-{i}", actor=Actor(id="00uzed", email="zed@example.com")
    )


def test_crash_inside_the_combined_commit_rolls_back_policy_and_anomaly_alerts(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Policy and anomaly findings, both states and the cursor commit together: a crash
    after the first alert is written leaves nothing; the rerun raises each alert once."""
    iid = okta_instance(store)
    suspended = Account(id="00uzed", email="Zed@example.com", name="Zed", status="SUSPENDED")
    store.replace_inventory(iid, [suspended], [])
    _enable(store, "failed-sign-ins")
    save_page(store, iid, "logs", [*(failed_sign_in(i) for i in range(11)), _zed_signs_in(50)], {})
    real = det_module._write_alert
    written: list[str] = []

    def write_then_crash(conn: Any, alert: AlertWrite, now: Any) -> None:
        real(conn, alert, now)
        written.append(alert.policy_id)
        if len(written) == 2:
            raise RuntimeError("killed after writing both alerts")

    monkeypatch.setattr(det_module, "_write_alert", write_then_crash)
    with pytest.raises(RuntimeError):
        DetectionStage(store, clock).run_once()
    assert sorted(written) == ["anomaly.disabled_user_activity", "failed-sign-ins"]
    assert store.detection.list_alerts() == [] and store.detection.get_stage(STAGE) is None
    monkeypatch.setattr(det_module, "_write_alert", real)
    assert DetectionStage(store, clock).run_once().committed
    assert DetectionStage(store, clock).run_once().read == 0
    alerts = {a.policy_id: a for a in store.detection.list_alerts()}
    assert sorted(alerts) == ["anomaly.disabled_user_activity", "failed-sign-ins"]
    zed = alerts["anomaly.disabled_user_activity"]
    assert zed.entity == "zed@example.com" and "suspended in the user inventory" in zed.explanation
    assert zed.severity == "high" and zed.tactic == "persistence"
    saved = store.detection.get_stage(STAGE)
    saved_anomaly = store.detection.get_stage(ANOMALY_STAGE)
    assert saved is not None and saved_anomaly is not None
    assert orjson.loads(saved.state)["engine"]
    assert orjson.loads(saved_anomaly.state)["partitioned"]  # users have rows of their own
    assert "zed@example.com" in store.detection.get_partitions(ANOMALY_STAGE)
    # zed goes on within the day: the same episode, no second alert; the baseline survived
    save_page(store, iid, "logs", [_zed_signs_in(60)], {"n": 2})
    DetectionStage(store, clock).run_once()
    assert len(store.detection.list_alerts()) == 2


def test_stage_without_policies_runs_anomalies_unless_switched_off(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    store.replace_inventory(
        iid, [Account(id="00uzed", email="zed@example.com", name=None, status="DEPROVISIONED")], []
    )
    save_page(store, iid, "logs", [_zed_signs_in(1)], {"n": 1})
    off = DetectionStage(store, clock, anomaly=None).run_once()
    assert (off.read, off.committed) == (0, False)
    on = DetectionStage(store, clock).run_once()
    assert (on.read, on.alerts, on.committed) == (1, 1, True)
    (alert,) = store.detection.list_alerts()
    assert alert.policy_id == "anomaly.disabled_user_activity"


@pytest.mark.parametrize("last", [None, 900])
def test_the_stage_read_only_touches_new_rows(tmp_path: Any, last: int | None) -> None:
    """EXPLAIN QUERY PLAN on SQLite: an instance's activities after a cursor are found by
    the index (instance_id, id), in order (no sort): never by reading every row of the
    instance (the plan with (instance_id, time, id) did, and sorted them)."""
    store = open_store(f"sqlite:///{tmp_path / 'plan.db'}", key=KEY)
    try:
        plan = sqlite_plan(store, det_module.after_statement(1, 500, last, 5000))
    finally:
        store.close()
    text_plan = "\n".join(plan)
    assert "ix_activities_instance_id_id (instance_id=? AND id>? AND id<?)" in text_plan or (
        last is None and "ix_activities_instance_id_id (instance_id=? AND id>?)" in text_plan
    ), text_plan
    assert "TEMP B-TREE" not in text_plan, text_plan
