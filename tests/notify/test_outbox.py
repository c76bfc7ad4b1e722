"""The outbox: every alert change appends one event in the transaction that made it."""

from __future__ import annotations

from tests.notify.conftest import alert, raise_alerts

from opencasb.store import Store


def _events(store: Store) -> list[tuple[str, str]]:
    return [(e.alert_id, e.kind) for e in store.notifications.events_after(0, 100)]


def test_opened_extended_closed_commented(store: Store) -> None:
    raise_alerts(store, alert(1), alert(2))
    raise_alerts(store, alert(1))  # the same pass again: nothing new, no event
    raise_alerts(store, alert(1, evidence=(1, 7)))  # new evidence: extended
    store.detection.close_alert("alert-002", "benign", "expected: quarterly export")
    store.detection.comment_alert("alert-001", "looking into it")
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
    assert closed["comment"] == "expected: quarterly export"
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
