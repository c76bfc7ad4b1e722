"""Webhook delivery end to end: a real HTTP receiver that checks the HMAC signature."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from tests.notify.conftest import alert, raise_alerts
from tests.notify.receivers import WebhookReceiver

from opencasb.clock import FakeClock
from opencasb.notify.config import WebhookConfig
from opencasb.notify.stage import NotifyStage
from opencasb.store import PageWrite, Store
from opencasb.store.notifiers import NotifierRecord

SIGNING_KEY = "whsec-test-3f9a1c"


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SIGNING_KEY).start()
    yield r
    r.stop()


def add_webhook(store: Store, url: str, key: str = SIGNING_KEY, **cfg: object) -> NotifierRecord:
    config = WebhookConfig(url=url, **cfg).model_dump(mode="json")  # type: ignore[arg-type]
    return store.notifications.add("webhook", "hook", config, {"signing_key": key})


def test_signed_json_with_entities(store: Store, clock: FakeClock, hook: WebhookReceiver) -> None:
    from tests.store.conftest import make_activity

    inst = store.add_instance("okta", "okta-prod", {}, {"token": "x"})
    store.save_pages([PageWrite.of(inst.id, "logs", [make_activity(i) for i in range(3)], {})])
    ids = tuple(sorted(a[0] for a in store.detection.activities_after({}, 10)))
    add_webhook(store, hook.url)
    raise_alerts(store, alert(1, evidence=ids, historical=True))
    result = NotifyStage(store, clock).run_once()
    assert (result.queued, result.delivered, result.failed) == (1, 1, 0)
    assert hook.bad_signatures == 0
    [got] = hook.received
    body = got.body
    event = store.notifications.events_after(0, 10)[0]
    assert body["event_id"] == event.key == got.headers["Idempotency-Key"]
    assert body["event"] == "opened" == got.headers["X-OpenCASB-Event"]
    a = body["alert"]
    assert a["id"] == "alert-001" and a["severity"] == "high" and a["historical"] is True
    assert a["mitre_tactic"] == "exfiltration" and a["category"] == "threat_detection"
    assert a["description"].startswith("user1 downloaded 60 files")
    assert a["evidence"] == list(ids) and a["status"] == "open"
    ents = a["entities"]
    assert ents["users"][0] == "user1@example.com"
    assert "user0@example.com" in ents["users"]
    assert ents["ips"] == ["198.51.100.0", "198.51.100.1", "198.51.100.2"]
    assert ents["apps"] == ["okta"] and ents["instances"] == ["okta-prod"]
    # Delivered means gone from the queue, and counted.
    assert store.notifications.head(store.notifications.get("hook").id) is None
    assert store.notifications.get("hook").delivered == 1
    assert NotifyStage(store, clock).run_once().delivered == 0


def test_new_notifier_starts_after_existing_events_unless_replay(
    store: Store, clock: FakeClock, hook: WebhookReceiver
) -> None:
    raise_alerts(store, alert(1))
    add_webhook(store, hook.url)
    raise_alerts(store, alert(2))
    NotifyStage(store, clock).run_once()
    assert [r.body["alert"]["id"] for r in hook.received] == ["alert-002"]
    config = WebhookConfig(url=hook.url).model_dump(mode="json")
    store.notifications.add(
        "webhook", "replayed", config, {"signing_key": SIGNING_KEY}, replay=True
    )
    NotifyStage(store, clock).run_once()
    assert [r.body["alert"]["id"] for r in hook.received] == ["alert-002", "alert-001", "alert-002"]


def test_severity_and_event_filters(store: Store, clock: FakeClock, hook: WebhookReceiver) -> None:
    add_webhook(store, hook.url, min_severity="medium", events=["opened"])
    raise_alerts(store, alert(1, severity="low"), alert(2, severity="medium"))
    store.detection.close_alert("alert-002", "true_positive")
    NotifyStage(store, clock).run_once()
    assert [(r.body["alert"]["id"], r.body["event"]) for r in hook.received] == [
        ("alert-002", "opened")
    ]


def test_disabled_notifier_catches_up_when_enabled(
    store: Store, clock: FakeClock, hook: WebhookReceiver
) -> None:
    add_webhook(store, hook.url)
    store.notifications.set_enabled("hook", False)
    raise_alerts(store, alert(1))
    assert NotifyStage(store, clock).run_once().delivered == 0
    store.notifications.set_enabled("hook", True)
    assert NotifyStage(store, clock).run_once().delivered == 1


def test_wrong_key_is_a_failed_attempt_and_never_logged(
    store: Store, clock: FakeClock, hook: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    add_webhook(store, hook.url, key="not-the-receivers-key")
    raise_alerts(store, alert(1))
    with caplog.at_level(logging.WARNING, logger="opencasb"):
        result = NotifyStage(store, clock).run_once()
    assert (result.delivered, result.failed) == (0, 1)
    assert hook.bad_signatures == 1
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "HTTP 401" in warning.getMessage() and "retrying in 30 s" in warning.getMessage()
    assert all("not-the-receivers-key" not in r.getMessage() for r in caplog.records)
    rec = store.notifications.get("hook")
    assert rec.last_error is not None and "HTTP 401" in rec.last_error
