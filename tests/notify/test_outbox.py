"""The outbox: every alert change appends one event in the transaction that made it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import KEY, T0, sqlite_plan
from tests.notify.conftest import alert, raise_alerts

from opencasb.clock import FakeClock
from opencasb.store import Store, open_store


def _events(store: Store) -> list[tuple[str, str]]:
    return [(e.alert_id, e.kind) for e in store.notifications.events_after(0, 100)]


def test_opened_extended_closed_commented(store: Store) -> None:
    raise_alerts(store, alert(1), alert(2))
    raise_alerts(store, alert(1))  # the same pass again: nothing new, no event
    raise_alerts(store, alert(1, evidence=(1, 7)))  # new evidence: extended
    store.detection.close_alert("alert-002", "benign", "expected: quarterly export", author="ann")
    store.detection.comment_alert("alert-001", "looking into it", author="bob")
    assert _events(store) == [
        ("alert-001", "opened"),
        ("alert-002", "opened"),
        ("alert-001", "extended"),
        ("alert-002", "closed"),
        ("alert-001", "commented"),
    ]
    events = store.notifications.events_after(0, 100)
    extended = events[2].alert
    assert extended["evidence"] == [1, 7] and extended["status"] == "open"
    closed = events[3].alert
    assert closed["status"] == "closed" and closed["resolution"] == "benign"
    assert closed["comment"] == "expected: quarterly export" and closed["comment_author"] == "ann"
    assert events[4].alert["comment_author"] == "bob"
    assert len({e.key for e in events}) == 5  # every event its own idempotency key
    assert [e.id for e in events] == sorted(e.id for e in events)


def test_a_pass_that_does_not_commit_appends_nothing(store: Store) -> None:
    raise_alerts(store, alert(1))
    det = store.detection
    stale = det.get_stage("test")
    raise_alerts(store, alert(2))
    # A second process that started from the old cursor loses: no alert, no event.
    assert not det.commit_stage(
        "test", expected=stale, cursor=9, state="{}", new_alerts=[alert(3)], disabled={}
    )
    assert _events(store) == [("alert-001", "opened"), ("alert-002", "opened")]


def test_snapshot_keeps_the_first_evidence_and_the_count(store: Store) -> None:
    raise_alerts(store, alert(1, evidence=tuple(range(1, 601))))
    [event] = store.notifications.events_after(0, 10)
    assert event.alert["evidence"] == list(range(1, 501))
    assert event.alert["evidence_count"] == 600


def test_prune_keeps_what_a_notifier_still_needs(store: Store, clock: FakeClock) -> None:
    notes = store.notifications
    raise_alerts(store, alert(1))
    quick = notes.add("webhook", "quick", {"url": "http://127.0.0.1:9/"}, {}, replay=True)
    slow = notes.add("webhook", "slow", {"url": "http://127.0.0.1:9/"}, {}, replay=True)
    raise_alerts(store, alert(2))
    clock.advance(31 * 86400)
    old = clock.now() - timedelta(days=30)
    # Neither has queued anything yet: every event is still needed.
    assert notes.prune_events(old) == 0
    never = lambda e: False  # noqa: E731 (a filter that takes nothing: cursors move on)
    assert notes.enqueue(quick.id, 0, clock.now(), accept=never) is not None
    assert notes.prune_events(old) == 0  # "slow" has not got past them
    first = notes.events_after(0, 10)[0].id
    assert notes.enqueue(slow.id, 0, clock.now(), accept=lambda e: e.id == first) is not None
    # Both cursors are past both; the first event is queued for "slow": only the second goes.
    assert notes.prune_events(old) == 1
    assert [e.id for e in notes.events_after(0, 10)] == [first]
    notes.remove("slow")  # its queue goes with it, and then the event
    assert notes.prune_events(old) == 1
    assert notes.events_after(0, 10) == []


@pytest.mark.postgres
def test_outbox_writers_are_serialized_on_postgresql(pg_url: str, clock: FakeClock) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from opencasb.store import open_store
    from opencasb.store.outbox import lock_outbox

    s = open_store(pg_url, clock=clock)
    try:
        with s.engine.connect() as first, first.begin():
            lock_outbox(first)
            with s.engine.connect() as second, second.begin():
                second.execute(text("SET LOCAL lock_timeout = '100ms'"))
                # A second writer waits until the first commits (here: gives up waiting).
                with pytest.raises(OperationalError, match="lock timeout"):
                    lock_outbox(second)
    finally:
        s.close()


def test_the_stage_prunes_the_outbox_at_most_once_per_interval(
    store: Store, clock: FakeClock
) -> None:
    """The sync loop runs a pass after every poll; the DELETE over the outbox (write lock,
    a scan) runs on the first pass and then once per ``prune_every``, not on every pass."""
    from sqlalchemy import event

    from opencasb.notify.stage import NotifyStage

    deletes: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ALERT_EVENTS"):
            deletes.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    # A notifier that takes none of these (low alerts, it wants high): its cursor moves on.
    store.notifications.add(
        "webhook", "soc", {"url": "http://127.0.0.1:9/", "min_severity": "high"}, {}
    )
    stage = NotifyStage(
        store, clock, keep_events=timedelta(days=30), prune_every=timedelta(hours=1)
    )
    raise_alerts(store, alert(1, severity="low"))  # at T0
    assert stage.run_once().pruned == 0 and len(deletes) == 1  # the first pass: nothing old
    for _ in range(3):
        clock.advance(600)
        assert stage.run_once().queued == 0
    assert len(deletes) == 1  # 30 minutes of passes, no DELETE
    raise_alerts(store, alert(2, severity="low"))  # at T0 + 30 min
    clock.advance(30 * 86400 - 20 * 60)  # T0 + 30 days + 10 min: due, alert 1 is old
    assert stage.run_once().pruned == 1 and len(deletes) == 2
    clock.advance(30 * 60)  # alert 2 is old now too, but the last prune was 30 min ago
    assert stage.run_once().pruned == 0 and len(deletes) == 2
    assert [e.alert_id for e in store.notifications.events_after(0, 10)] == ["alert-002"]
    clock.advance(30 * 60)  # an hour since: due again
    assert stage.run_once().pruned == 1 and len(deletes) == 3
    assert store.notifications.events_after(0, 10) == []


@pytest.mark.parametrize("lowest", [None, 5])
def test_pruning_reads_old_events_and_their_deliveries_by_index(
    tmp_path: Path, lowest: int | None
) -> None:
    """EXPLAIN QUERY PLAN on SQLite: the prune finds the old events by ``created_at`` and
    each one's deliveries by ``event_id``; it scans neither table (the events kept, the dead
    letters)."""
    from opencasb.store.outbox import prune_statement

    store = open_store(f"sqlite:///{tmp_path / 'plan.db'}", key=KEY)
    try:
        plan = sqlite_plan(store, prune_statement(T0, lowest))
    finally:
        store.close()
    text = "\n".join(plan)
    assert "SEARCH alert_events USING COVERING INDEX ix_alert_events_created_at" in text, text
    assert "SEARCH deliveries USING COVERING INDEX ix_deliveries_event_id" in text, text
    assert not any(step.startswith("SCAN") for step in plan), text
