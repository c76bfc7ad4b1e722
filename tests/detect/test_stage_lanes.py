"""The detection stage's lanes on both engines: each engine has its own stage row; a policy
enabled after the history was stored catches up over it alone and then joins the main pass;
the anomaly detections switched on later learn from the whole history; findings about old
activity are historical; a crash at any commit loses nothing and raises nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from tests.detect.helpers import CommitCrasher
from tests.store.conftest import T0, failed_sign_in, make_activity, okta_instance, save_page

from opencasb.clock import FakeClock
from opencasb.detect import read_policies
from opencasb.detect.stage import ANOMALY_STAGE, STAGE, DetectionStage, store_policy
from opencasb.errors import StoreError
from opencasb.model.activity import Actor
from opencasb.model.inventory import Account
from opencasb.store import Store
from opencasb.store.detection import StageState, StageWrite

NOW = T0 + timedelta(days=3)


@pytest.fixture
def clock() -> FakeClock:
    """The clock of the root conftest's ``store`` (both engines), later than its ``T0``."""
    return FakeClock(NOW)


def _policy(store: Store, pid: str, user: str | None = None, limit: int = 1000) -> None:
    """A single-activity policy: every failed sign-in (of ``user``, if given), each an alert
    of its own (``episode_gap: 0``: these tests count alerts per activity)."""
    cond = "{field: outcome, equals: failure}"
    if user:
        cond = f"{{all: [{cond}, {{field: actor.email, equals: {user}}}]}}"
    (policy,) = read_policies(
        f"""
policies:
  - id: {pid}
    name: Failure {pid}
    severity: low
    category: threat_detection
    daily_alert_limit: {limit}
    episode_gap: 0
    filter: {cond}
"""
    )
    store_policy(store, policy)


def _by_policy(store: Store) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for a in store.detection.list_alerts(limit=100_000):
        out.setdefault(a.policy_id, []).append(a)
    return out


def test_each_engine_has_its_own_row_and_a_policy_enabled_later_sees_the_history(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    _policy(store, "early", user="eve@example.com")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(12)], {"n": 1})
    stage = DetectionStage(store, clock)
    assert stage.run_until_caught_up().committed
    assert "late" not in _by_policy(store)
    policies_row, anomaly_row = (
        store.detection.get_stage(STAGE),
        store.detection.get_stage(ANOMALY_STAGE),
    )
    assert policies_row is not None and anomaly_row is not None
    assert policies_row.cursor == anomaly_row.cursor == 12
    # added after the history was read (and with one new, live failure stored meanwhile):
    # it catches up over the history alone, up to the main cursor, joins, and the main pass
    # evaluates the new failure for both policies; findings about three-day-old activity
    # are historical
    _policy(store, "late")
    save_page(store, iid, "logs", [failed_sign_in(20, at=timedelta(days=3))], {"n": 2})
    r = DetectionStage(store, clock).run_once()
    assert (r.read, r.alerts, r.committed) == (13, 13, True)  # each activity once per policy
    late = _by_policy(store)["late"]
    assert sorted(i for a in late for i in a.evidence) == list(range(1, 14))
    assert [a.historical for a in late].count(False) == 1 and len(late) == 13
    progress = orjson.loads(store.detection.get_stage(STAGE).state)  # type: ignore[union-attr]
    assert sorted(progress["joined"]) == ["early", "late"] and progress["catchup"] == {}
    assert progress["cursors"] == {str(iid): 13}
    assert not DetectionStage(store, clock).run_once().committed
    save_page(store, iid, "logs", [failed_sign_in(21, at=timedelta(days=3))], {"n": 3})
    assert DetectionStage(store, clock).run_until_caught_up().alerts == 1


def test_catch_up_in_small_batches_with_crashes_at_every_other_commit_misses_nothing(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catch-up reads up to the main cursors in batches while the main pass goes on;
    crashing every other commit (a SIGKILL between evaluation and commit) changes nothing:
    every failure gives exactly one alert per policy, none twice, none lost."""
    iid = okta_instance(store)
    _policy(store, "main")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(10)], {"n": 1})
    DetectionStage(store, clock).run_until_caught_up(batch=3)
    _policy(store, "later")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(10, 17)], {"n": 2})
    crasher = CommitCrasher(monkeypatch)
    written = 0  # alerts written (new or extended) by the committed passes
    for _ in range(100):
        try:
            r = DetectionStage(store, clock).run_once(batch=3)
        except StoreError:
            continue
        if not r.committed:
            break
        written += r.alerts
    else:
        pytest.fail("the stage never caught up")
    assert written == 7 + 17  # "main" on the new failures, "later" on all: each once
    crasher.stop()
    alerts = _by_policy(store)
    for pid in ("main", "later"):
        evidence = sorted(i for a in alerts[pid] for i in a.evidence)
        assert evidence == list(range(1, 18)), pid
    assert crasher.calls > 6  # many passes, half of them killed


def test_two_stage_rows_commit_together_or_not_at_all(store: Store) -> None:
    det = store.detection
    assert det.commit_stages(
        [StageWrite("a", None, 1, "{}"), StageWrite("b", None, 1, "{}")],
        new_alerts=[],
        disabled={},
    )
    stale = StageState(0, "{}")
    assert not det.commit_stages(
        [StageWrite("a", det.get_stage("a"), 2, "{}"), StageWrite("b", stale, 2, "{}")],
        new_alerts=[],
        disabled={},
    )
    assert det.get_stage("a") == StageState(1, "{}")  # rolled back with b's conflict


def _zed(i: int, at: timedelta) -> Any:
    return make_activity(
        i,
        time=T0 + at,
        source_event_id=f"zed-{i}",
        actor=Actor(id="00uzed", email="zed@example.com", type="User"),
    )


def test_anomaly_detections_switched_on_later_read_the_history_and_mark_it_historical(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    store.replace_inventory(
        iid, [Account(id="00uzed", email="zed@example.com", name=None, status="SUSPENDED")], []
    )
    _policy(store, "p")
    save_page(store, iid, "logs", [_zed(1, timedelta(0))], {"n": 1})
    DetectionStage(store, clock, anomaly=None).run_until_caught_up()
    assert store.detection.get_stage(ANOMALY_STAGE) is None
    assert store.detection.list_alerts() == []
    r = DetectionStage(store, clock).run_until_caught_up()
    assert r.read == 1
    (old,) = store.detection.list_alerts()
    assert old.policy_id == "anomaly.disabled_user_activity" and old.historical
    # the next day's activity (live now) is not historical
    save_page(store, iid, "logs", [_zed(2, timedelta(days=3))], {"n": 2})
    DetectionStage(store, clock).run_until_caught_up()
    live = [a for a in store.detection.list_alerts() if not a.historical]
    assert [a.policy_id for a in live] == ["anomaly.disabled_user_activity"]


def test_policy_enabled_again_by_the_user_catches_up_without_doubling_its_alerts(
    store: Store, clock: FakeClock
) -> None:
    iid = okta_instance(store)
    _policy(store, "p")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(5)], {"n": 1})
    DetectionStage(store, clock).run_until_caught_up()
    store.detection.set_policy_enabled("p", False)
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(5, 8)], {"n": 2})
    DetectionStage(store, clock).run_until_caught_up()
    assert len(_by_policy(store)["p"]) == 5
    store.detection.set_policy_enabled("p", True)
    DetectionStage(store, clock).run_until_caught_up()
    alerts = _by_policy(store)["p"]
    assert sorted(i for a in alerts for i in a.evidence) == list(range(1, 9))


def test_legacy_combined_row_splits_into_two_rows_without_reading_again(
    store: Store, clock: FakeClock
) -> None:
    """A stage row written before the split (one cursor, policy and anomaly state together)
    goes on from where it was, for both engines."""
    iid = okta_instance(store)
    _policy(store, "p")
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(3)], {"n": 1})
    old = orjson.dumps(
        {
            "cursors": {str(iid): 3},
            "engine": orjson.loads(
                b'{"version":1,"watermark":0,"windows":{},"episodes":{},'
                b'"counters":{},"disabled":{}}'
            ),
            "anomaly": {"org": {}, "users": {}, "watermark": 0},
        }
    ).decode()
    assert store.detection.commit_stage(
        STAGE, expected=None, cursor=3, state=old, new_alerts=[], disabled={}
    )
    assert not DetectionStage(store, clock).run_once().committed  # nothing new for either
    save_page(store, iid, "logs", [failed_sign_in(9)], {"n": 2})
    r = DetectionStage(store, clock).run_once()
    assert (r.read, r.alerts, r.committed) == (1, 1, True)
    anomaly_row = store.detection.get_stage(ANOMALY_STAGE)
    assert anomaly_row is not None and anomaly_row.cursor == 4


def test_a_pass_runs_without_the_cyclic_collector_and_restores_it(store: Store) -> None:
    """A pass's many short-lived objects are not scanned by the cyclic collector; it is on
    again after the pass (and stays off if the process had switched it off)."""
    import gc

    seen: list[bool] = []

    class Watching(FakeClock):
        def now(self) -> Any:
            seen.append(gc.isenabled())
            return super().now()

    clock = Watching(NOW)
    iid = okta_instance(store)
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(3)], {"n": 1})
    assert gc.isenabled()
    seen.clear()
    assert DetectionStage(store, clock).run_once().committed
    assert seen and not any(seen) and gc.isenabled()
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(3, 5)], {"n": 2})
    gc.disable()
    try:
        assert DetectionStage(store, clock).run_once().committed
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_findings_over_the_daily_alert_limit_are_logged_once_and_counted_for_today(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from opencasb.detect.stage import suppressed_today

    iid = okta_instance(store)
    _policy(store, "capped", limit=2)
    _policy(store, "roomy")
    # five failures today (the clock's day) for the capped policy's limit of two
    today = NOW - T0 - timedelta(hours=1)
    first = [failed_sign_in(i, at=today + timedelta(seconds=i)) for i in range(5)]
    save_page(store, iid, "logs", first, {"n": 1})
    with caplog.at_level("WARNING", logger="opencasb.detect.engine"):
        assert DetectionStage(store, clock).run_until_caught_up().committed
        save_page(
            store, iid, "logs", [failed_sign_in(9, at=today + timedelta(seconds=9))], {"n": 2}
        )
        assert DetectionStage(store, clock).run_until_caught_up().committed
    assert len(_by_policy(store)["capped"]) == 2 and len(_by_policy(store)["roomy"]) == 6
    assert suppressed_today(store, NOW) == {"capped": 4}
    assert suppressed_today(store, NOW + timedelta(days=1)) == {}  # a new day: none yet
    hits = [r.getMessage() for r in caplog.records if "daily alert limit" in r.getMessage()]
    assert len(hits) == 1, hits
    assert hits[0].startswith("policy capped reached its daily alert limit of 2 on ")


def test_catching_up_stops_after_a_pass_that_read_all_there_was(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass whose every read came back short of its batch read all there was: no pass
    more (it would read nothing); a full read is followed by another pass."""
    iid = okta_instance(store)
    _policy(store, "main")
    passes: list[int] = []
    real = DetectionStage.run_once

    def counted(self: DetectionStage, batch: int = 5000) -> Any:
        result = real(self, batch)
        passes.append(result.read)
        return result

    monkeypatch.setattr(DetectionStage, "run_once", counted)
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(5)], {"n": 1})
    done = DetectionStage(store, clock).run_until_caught_up(batch=3)
    assert passes == [3, 2] and done.read == 5 and done.alerts == 5
    passes.clear()
    save_page(store, iid, "logs", [failed_sign_in(i) for i in range(5, 11)], {"n": 2})
    done = DetectionStage(store, clock).run_until_caught_up(batch=3)
    assert passes == [3, 3, 0] and done.read == 6  # the last full read: one pass more
    # and a policy enabled now catches up over all eleven in as few passes
    _policy(store, "later")
    passes.clear()
    DetectionStage(store, clock).run_until_caught_up(batch=4)
    assert len(passes) == 3 and len(_by_policy(store)["later"]) == 11
