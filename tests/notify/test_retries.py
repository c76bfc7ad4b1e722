"""Nothing is lost: a receiver that is down gets every event, once and in order, when it
is back; dead letters after the limit, re-delivered on demand; a crash between the send
and its commit sends again with the same idempotency key."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from tests.notify.conftest import alert, raise_alerts
from tests.notify.receivers import WebhookReceiver, free_port
from tests.notify.test_webhook import SIGNING_KEY, add_webhook

from opencasb.clock import FakeClock
from opencasb.errors import StoreError
from opencasb.notify.config import parse_config
from opencasb.notify.stage import NotifyStage
from opencasb.store import Store
from opencasb.store import deliveries as deliveries_mod


def _head_attempts(store: Store) -> tuple[int, object]:
    head = store.notifications.head(store.notifications.get("hook").id)
    assert head is not None
    return head.attempts, head.next_attempt_at


def test_receiver_down_then_up_gets_everything_once_in_order(
    store: Store, clock: FakeClock
) -> None:
    hook = WebhookReceiver(SIGNING_KEY, port=free_port())  # not listening yet: refused
    add_webhook(store, hook.url)
    raise_alerts(store, alert(1), alert(2))
    raise_alerts(store, alert(3))
    stage = NotifyStage(store, clock)
    t0 = clock.now()

    assert stage.run_once().failed == 1
    assert _head_attempts(store) == (1, t0 + timedelta(seconds=30))
    assert stage.run_once().failed == 0  # not due yet: no attempt at all
    clock.advance(30)
    assert stage.run_once().failed == 1
    assert _head_attempts(store) == (2, t0 + timedelta(seconds=30 + 60))

    hook.status = 500  # up, but failing
    hook.start()
    try:
        clock.advance(60)
        assert stage.run_once().failed == 1
        assert _head_attempts(store) == (3, t0 + timedelta(seconds=90 + 120))
        last_error = store.notifications.get("hook").last_error
        assert last_error is not None and "HTTP 500" in last_error and "\x1b" not in last_error

        hook.status = 200
        clock.advance(119)
        assert stage.run_once().delivered == 0  # still one second to wait
        clock.advance(1)
        assert stage.run_once().delivered == 3
        events = store.notifications.events_after(0, 10)
        assert hook.event_ids() == [e.key for e in events]  # each once, in order
        assert [r.body["alert"]["id"] for r in hook.received] == [
            "alert-001",
            "alert-002",
            "alert-003",
        ]
        assert stage.run_once().delivered == 0
        assert len(hook.received) == 3
    finally:
        hook.stop()


def test_dead_letter_after_attempts_then_retry(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hook = WebhookReceiver(SIGNING_KEY, port=free_port())
    add_webhook(store, hook.url, max_attempts=3)
    raise_alerts(store, alert(1), alert(2))
    stage = NotifyStage(store, clock)
    with caplog.at_level(logging.WARNING, logger="opencasb"):
        for delay in (0, 30, 60):
            clock.advance(delay)
            stage.run_once()
    notes = store.notifications
    [dead] = notes.dead_letters()
    assert dead.event.alert_id == "alert-001" and dead.attempts == 3
    assert dead.last_error is not None and "could not reach the webhook" in dead.last_error
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "dead-lettered after 3 attempts" in errors[0].getMessage()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
    # The next event moves up and gets attempts of its own.
    assert stage.run_once().failed == 1
    assert _head_attempts(store)[0] == 1

    hook.start()
    try:
        assert notes.retry_dead(clock.now(), ids=[dead.id]) == 1
        assert notes.dead_letters() == []
        # The retried dead letter is the oldest, so it goes first; alert-002 waits out its
        # backoff behind it.
        assert stage.run_once().delivered == 1
        clock.advance(30)
        assert stage.run_once().delivered == 1
        assert [r.body["alert"]["id"] for r in hook.received] == ["alert-001", "alert-002"]
        assert hook.received[0].body["event_id"] == dead.event.key
    finally:
        hook.stop()


def test_dead_letter_after_max_hours(store: Store, clock: FakeClock) -> None:
    hook = WebhookReceiver(SIGNING_KEY, port=free_port())
    add_webhook(store, hook.url, max_hours=0.01)  # 36 s after the first attempt
    raise_alerts(store, alert(1))
    stage = NotifyStage(store, clock)
    assert stage.run_once().failed == 1
    clock.advance(30)
    assert stage.run_once().failed == 1  # 30 s after the first attempt: not yet
    clock.advance(60)
    assert stage.run_once().dead == 1
    assert store.notifications.retry_dead(clock.now()) == 1  # --all


def test_crash_between_send_and_commit_sends_again(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = WebhookReceiver(SIGNING_KEY).start()
    try:
        rec = add_webhook(store, hook.url)
        raise_alerts(store, alert(1))

        def crash(*args: object, **kwargs: object) -> bool:
            raise StoreError("the database went away")

        with monkeypatch.context() as m:
            m.setattr(deliveries_mod, "record_success", crash)
            with pytest.raises(StoreError):
                NotifyStage(store, clock).run_once()
        assert len(hook.received) == 1
        # The crashed process never released its lease: the next one waits for it to expire.
        assert store.notifications.acquire_lease(
            rec.id, "crashed", clock.now(), timedelta(minutes=2)
        )
        restarted = NotifyStage(store, clock)
        assert restarted.run_once().busy == ["hook"]
        clock.advance(121)
        assert restarted.run_once().delivered == 1
        assert len(hook.received) == 2
        assert hook.event_ids()[0] == hook.event_ids()[1]  # the receiver can drop the copy
        assert restarted.run_once().delivered == 0
    finally:
        hook.stop()


def test_lost_lease_commits_nothing(store: Store, clock: FakeClock) -> None:
    hook = WebhookReceiver(SIGNING_KEY).start()
    try:
        rec = add_webhook(store, hook.url)
        raise_alerts(store, alert(1))
        notes = store.notifications
        stage = NotifyStage(store, clock, holder="a")
        stage._enqueue(rec, parse_config("webhook", rec.config))
        head = notes.head(rec.id)
        assert head is not None
        now = clock.now()
        # "b" holds the lease: "a"'s outcome must not be written.
        assert notes.acquire_lease(rec.id, "b", now, timedelta(minutes=2))
        assert not notes.record_success(head, "a", now, now + timedelta(minutes=2))
        assert notes.head(rec.id) is not None
    finally:
        hook.stop()


def test_retry_after_is_honoured(store: Store, clock: FakeClock) -> None:
    hook = WebhookReceiver(SIGNING_KEY, status=503, retry_after="240").start()
    try:
        add_webhook(store, hook.url)
        raise_alerts(store, alert(1))
        t0 = clock.now()
        assert NotifyStage(store, clock).run_once().failed == 1
        assert _head_attempts(store) == (1, t0 + timedelta(seconds=240))  # not the 30 s backoff
    finally:
        hook.stop()


def test_a_misconfigured_notifier_does_not_stop_the_others(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hook = WebhookReceiver(SIGNING_KEY).start()
    try:
        store.notifications.add("webhook", "broken", {"url": "ftp://nowhere"}, {})
        add_webhook(store, hook.url)
        raise_alerts(store, alert(1))
        with caplog.at_level(logging.ERROR, logger="opencasb"):
            result = NotifyStage(store, clock).run_once()
        assert result.broken == ["broken"] and result.delivered == 1
        assert "notifier broken is misconfigured" in caplog.text
    finally:
        hook.stop()
