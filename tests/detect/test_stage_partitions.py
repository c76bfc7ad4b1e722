"""The anomaly stage keeps each user's baseline in a row of its own: a pass writes only the
users it changed, in the transaction of its cursors and alerts; a restart reads back exactly
the state that was written; a row written before (users inside it) moves out at the next
commit."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import orjson
import pytest
from tests.store.conftest import KEY, T0, make_activity, save_page

from opencasb.clock import FakeClock
from opencasb.detect import stage as stage_module
from opencasb.detect.anomaly import AnomalyState
from opencasb.detect.stage import ANOMALY_STAGE, DetectionStage
from opencasb.model.activity import Actor, Outcome
from opencasb.store import Store, open_store
from opencasb.store import detection as det_module

NOW = T0 + timedelta(days=3)


@pytest.fixture
def clock() -> FakeClock:
    """The clock of the root conftest's ``store`` (both engines), later than its ``T0``."""
    return FakeClock(NOW)


def _act(n: int, user: str, outcome: Outcome = Outcome.FAILURE) -> Any:
    return make_activity(
        n,
        source_event_id=f"evt-{user}-{n}",
        outcome=outcome,
        actor=Actor(id=user, email=f"{user}@example.com", type="User"),
    )


def _full_state(store: Store) -> str:
    """The stored anomaly state as one canonical text, read from the store alone."""
    stage_module._STATES.clear()
    row = store.detection.get_stage(ANOMALY_STAGE)
    cursors, state = stage_module._load_anomaly(store.detection, row, {}, "")
    return _text(cursors, state)


def _text(cursors: dict[int, int], state: AnomalyState) -> str:
    return orjson.dumps(cursors, option=orjson.OPT_NON_STR_KEYS).decode() + state.to_json()


def _writes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records the partitions each commit writes for the anomaly stage."""
    seen: list[dict[str, Any]] = []
    real = det_module._write_partitions

    def spy(conn: Any, w: Any) -> None:
        if w.stage == ANOMALY_STAGE:
            seen.append(dict(w.partitions))
        real(conn, w)

    monkeypatch.setattr(det_module, "_write_partitions", spy)
    return seen


def test_a_pass_writes_the_users_it_changed_and_a_restart_reads_back_what_was_written(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    writes = _writes(monkeypatch)
    save_page(store, iid, "logs", [_act(i, u) for i, u in enumerate("abc")], {"n": 1})
    stage = DetectionStage(store, clock)
    assert stage.run_once().committed
    assert [sorted(w) for w in writes] == [["a@example.com", "b@example.com", "c@example.com"]]
    _, kept_cursors, kept = stage_module._STATES[store]
    in_memory = _text(kept_cursors, kept)
    assert _full_state(store) == in_memory  # a restart reads back the state it had
    b_before = store.detection.get_partitions(ANOMALY_STAGE)["b@example.com"]

    # only a's activity: a is rewritten, b and c are not (their rows stay as they were)
    save_page(store, iid, "logs", [_act(10, "a"), _act(11, "a")], {"n": 2})
    assert DetectionStage(store, clock).run_once().committed
    assert [sorted(w) for w in writes[1:]] == [["a@example.com"]]
    parts = store.detection.get_partitions(ANOMALY_STAGE)
    assert parts["b@example.com"] == b_before
    assert len(AnomalyState.user_from_json(parts["a@example.com"]).failures) == 3

    # a process that restarts before every pass stores the same as one that keeps the state
    save_page(store, iid, "logs", [_act(20, "c"), _act(21, "d")], {"n": 3})
    stage_module._STATES.clear()
    assert DetectionStage(store, clock).run_once().committed
    assert [sorted(w) for w in writes[2:]] == [["c@example.com", "d@example.com"]]
    row = store.detection.get_stage(ANOMALY_STAGE)
    assert row is not None and orjson.loads(row.state)["anomaly"]["users"] == {}
    _, state = stage_module._load_anomaly(store.detection, row, {}, "")
    assert set(state.users) == {f"{u}@example.com" for u in "abcd"}


def test_a_user_whose_activity_no_detector_acts_on_is_not_rewritten(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    writes = _writes(monkeypatch)
    save_page(store, iid, "logs", [_act(1, "a"), _act(2, "b")], {"n": 1})
    assert DetectionStage(store, clock).run_once().committed
    a_before = store.detection.get_partitions(ANOMALY_STAGE)["a@example.com"]
    # later: a signs on to an app (no detector or learner acts on that while a is not
    # suspended), b fails to sign in again, e signs on for the first time (new: written)
    reads = [
        dataclasses.replace(_act(n, u, Outcome.SUCCESS), activity_type="user.authentication.sso")
        for n, u in ((10, "a"), (12, "e"))
    ]
    save_page(store, iid, "logs", [reads[0], _act(11, "b"), reads[1]], {"n": 2})
    assert DetectionStage(store, clock).run_once().committed
    assert [sorted(w) for w in writes[1:]] == [["b@example.com", "e@example.com"]]
    assert store.detection.get_partitions(ANOMALY_STAGE)["a@example.com"] == a_before
    _, kept_cursors, kept = stage_module._STATES[store]
    assert _full_state(store) == _text(kept_cursors, kept)  # nothing unwritten


def test_a_pass_that_does_not_commit_writes_no_partition(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [_act(1, "a")], {"n": 1})
    assert DetectionStage(store, clock).run_once().committed
    before = (store.detection.get_stage(ANOMALY_STAGE), _full_state(store))
    save_page(store, iid, "logs", [_act(2, "a"), _act(3, "b")], {"n": 2})
    real = det_module._write_partitions

    def write_then_crash(conn: Any, w: Any) -> None:
        real(conn, w)
        raise RuntimeError("killed after writing the partitions")

    monkeypatch.setattr(det_module, "_write_partitions", write_then_crash)
    with pytest.raises(RuntimeError):
        DetectionStage(store, clock).run_once()
    assert (store.detection.get_stage(ANOMALY_STAGE), _full_state(store)) == before
    monkeypatch.setattr(det_module, "_write_partitions", real)
    assert DetectionStage(store, clock).run_once().committed  # the pass again, whole
    assert set(store.detection.get_partitions(ANOMALY_STAGE)) == {"a@example.com", "b@example.com"}


def test_a_row_written_before_partitions_is_read_and_its_users_move_out(
    store: Store, clock: FakeClock
) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [_act(i, u) for i, u in enumerate("ab")], {"n": 1})
    assert DetectionStage(store, clock).run_once().committed
    stage_module._STATES.clear()
    row = store.detection.get_stage(ANOMALY_STAGE)
    assert row is not None
    cursors, state = stage_module._load_anomaly(store.detection, row, {}, "")
    # the layout of before: one row, the users inside it, no partition rows
    legacy = orjson.dumps(
        {
            "anomaly": orjson.loads(state.to_json()),
            "cursors": {str(k): v for k, v in cursors.items()},
        }
    ).decode()
    with store.engine.begin() as conn:
        conn.execute(det_module.stage_partitions.delete())
        conn.execute(
            det_module.stage_state.update()
            .where(det_module.stage_state.c.stage == ANOMALY_STAGE)
            .values(state=legacy)
        )
    save_page(store, iid, "logs", [_act(5, "b")], {"n": 2})
    assert DetectionStage(store, clock).run_once().committed
    parts = store.detection.get_partitions(ANOMALY_STAGE)
    assert sorted(parts) == ["a@example.com", "b@example.com"]  # a moved out untouched
    assert parts["a@example.com"] == state.user_json("a@example.com")
    assert len(AnomalyState.user_from_json(parts["b@example.com"]).failures) == 2


def test_downgrading_puts_the_users_back_in_the_row(tmp_path: Any, clock: FakeClock) -> None:
    """Migration 0012 down: the users' rows go back inside the stage row, where the code of
    before reads them; up again, the stage reads that row and moves them out again."""
    import sqlalchemy as sa
    from alembic import command

    from opencasb.store.engine import migration_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url, key=KEY, clock=clock)
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [_act(i, u) for i, u in enumerate("ab")], {"n": 1})
    assert DetectionStage(store, clock).run_once().committed
    written = _full_state(store)
    store.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(migration_config(conn), "0011")
        (text,) = conn.exec_driver_sql(
            "SELECT state FROM stage_state WHERE stage = 'detect.anomaly'"
        ).one()
    engine.dispose()
    data = orjson.loads(text)
    assert "partitioned" not in data
    assert sorted(data["anomaly"]["users"]) == ["a@example.com", "b@example.com"]
    store = open_store(url, key=KEY, clock=clock)
    try:
        assert _full_state(store) == written  # read from the row as the code of before
        save_page(store, iid, "logs", [_act(5, "b")], {"n": 2})
        assert DetectionStage(store, clock).run_once().committed
        assert sorted(store.detection.get_partitions(ANOMALY_STAGE)) == [
            "a@example.com",
            "b@example.com",
        ]
    finally:
        store.close()
