"""The configuration's anomaly settings reach the detection stage: on by default (medium,
seven days of learning), tunable, and switched off by ``anomaly_detection = false``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opencasb.config import Settings
from opencasb.detect.anomaly import AnomalySettings, Sensitivity
from opencasb.detect.stage import anomaly_settings


def test_defaults_run_the_anomaly_detections(tmp_path: Path) -> None:
    assert anomaly_settings(Settings(data_dir=tmp_path)) == AnomalySettings()


def test_sensitivity_and_learning_are_read_and_detection_can_be_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCASB_ANOMALY_SENSITIVITY", "HIGH")
    monkeypatch.setenv("OPENCASB_ANOMALY_LEARNING_DAYS", "2")
    monkeypatch.setenv("OPENCASB_ANOMALY_DAILY_ALERT_LIMIT", "7")
    got = anomaly_settings(Settings(data_dir=tmp_path))
    assert got is not None
    assert (got.sensitivity, got.learning) == (Sensitivity.HIGH, timedelta(days=2))
    assert got.daily_alert_limit == 7
    monkeypatch.setenv("OPENCASB_ANOMALY_DETECTION", "false")
    assert anomaly_settings(Settings(data_dir=tmp_path)) is None
