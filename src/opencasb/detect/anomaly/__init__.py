"""Anomaly detections with per-user and per-organisation baselines.

Start at :class:`AnomalyEngine`: ``evaluate([(observed, enrichment), ...], state)`` returns
findings (:class:`~opencasb.detect.engine.Finding`, ``policy_id`` = the detector id such as
``anomaly.impossible_travel``) and the new :class:`AnomalyState`, which serialises with
``to_json``/``from_json``. :class:`AnomalySettings` holds the learning period and the
sensitivity.
"""

from opencasb.detect.anomaly.engine import DETECTORS, AnomalyEngine, Detector
from opencasb.detect.anomaly.settings import AnomalySettings, Sensitivity, Thresholds
from opencasb.detect.anomaly.state import AnomalyState, OrgState, Place, UserState

__all__ = [
    "DETECTORS",
    "AnomalyEngine",
    "AnomalySettings",
    "AnomalyState",
    "Detector",
    "OrgState",
    "Place",
    "Sensitivity",
    "Thresholds",
    "UserState",
]
