"""The anomaly detectors' daily alert limit: at most so many new alerts per detector and UTC
day (event time); the new findings over it are counted and logged once, not raised, and
their episodes are forgotten; a finding that extends an alert passes and does not count."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from tests.detect.helpers import T0, act, observe

from opencasb.clock import FakeClock
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState
from opencasb.detect.anomaly.limit import suppressed_on
from opencasb.detect.anomaly.reputation import ANONYMOUS_IP
from opencasb.detect.engine import Observed

TOR = frozenset({"tor"})
DAY = 86_400.0


def _engine(limit: int) -> AnomalyEngine:
    return AnomalyEngine(AnomalySettings(daily_alert_limit=limit), clock=FakeClock(T0))


def _signins(
    users: range, at: float, ip: str = "198.51.100.1", first_id: int = 1
) -> list[Observed]:
    acts = [act(email=f"u{n}@example.com", at=at + n, ip=ip) for n in users]
    return observe(*acts, first_id=first_id, tags=TOR)


def test_over_the_limit_new_alerts_are_counted_logged_once_and_start_over_the_next_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = _engine(3)
    with caplog.at_level(logging.WARNING, logger="opencasb.detect.anomaly.limit"):
        found, state = engine.evaluate_observed(_signins(range(5), 0.0), AnomalyState())
    assert [f.entity for f in found] == ["u0@example.com", "u1@example.com", "u2@example.com"]
    assert suppressed_on(state, T0) == {ANONYMOUS_IP: 2}
    (record,) = caplog.records
    assert "anomaly.anonymous_ip reached its daily alert limit of 3 on 2026-10-20" in (
        record.getMessage()
    )
    # a suppressed finding opened no episode: the user's next finding is new (and counted)
    # while a raised one's next finding extends its alert (not counted)
    later = _signins(range(5), 60.0, ip="198.51.100.2", first_id=10)
    found, state = engine.evaluate_observed(later, state)
    assert [(f.entity, f.continues) for f in found] == [
        ("u0@example.com", True),
        ("u1@example.com", True),
        ("u2@example.com", True),
    ]
    assert suppressed_on(state, T0) == {ANONYMOUS_IP: 4}
    assert len(caplog.records) == 1  # logged once a detector and day
    # the next UTC day (of event time) starts over: its counts, not the day before's
    tomorrow = _signins(range(5, 10), 2 * DAY, first_id=20)
    found, state = engine.evaluate_observed(tomorrow, state)
    assert len(found) == 3 and not any(f.continues for f in found)
    assert suppressed_on(state, T0 + timedelta(days=2)) == {ANONYMOUS_IP: 2}
    assert suppressed_on(state, T0) == {}


def test_the_counts_survive_the_state_text_and_the_default_is_100() -> None:
    assert AnomalySettings().daily_alert_limit == 100
    with pytest.raises(ValueError, match="at least 1"):
        AnomalySettings(daily_alert_limit=0)
    _, state = _engine(1).evaluate_observed(_signins(range(3), 0.0), AnomalyState())
    again = AnomalyState.from_json(state.to_json())
    assert again == state and suppressed_on(again, T0) == {ANONYMOUS_IP: 2}
    found, _ = _engine(1).evaluate_observed(_signins(range(3, 5), 90.0), again)
    assert found == []  # the day's one alert was raised before the state was stored
