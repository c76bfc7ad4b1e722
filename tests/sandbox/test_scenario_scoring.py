"""Scoring alerts against ground truth: matched by evidence and detection kind; an alert on an
attack's records of another kind is neither true nor false; everything else is false."""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.scenarios.plan import SCENARIOS
from opencasb.sandbox.scenarios.scoring import DETECTED_BY, ScoredAlert, score


def _entry(scenario: str, kind: str, expected: str, ids: list[str]) -> dict[str, Any]:
    return {"scenario": scenario, "kind": kind, "victim": f"{scenario}@example.com",
            "activity_ids": ids, "expected_detection": expected}  # fmt: skip


TRUTH = {
    "scenarios": [
        _entry("brute_force", "attack", "brute_force", ["b1", "b2"]),
        _entry("mass_download", "attack", "mass_download", ["m1", "m2"]),
        _entry("impossible_travel", "attack", "impossible_travel", ["t1", "t2"]),
        _entry("benign_real_travel", "benign", "none", ["r1", "r2"]),
    ]
}
RAN = ("anomaly.failed_signins", "failed-sign-ins", "anomaly.mass_download", "mass-download",
       "anomaly.impossible_travel", "anomaly.infrequent_country")  # fmt: skip


def test_alerts_are_true_other_or_false() -> None:
    alerts = [
        ScoredAlert("anomaly.failed_signins", ("x9", "b2")),  # everyday failures + the attack
        ScoredAlert("anomaly.mass_download", ("m1",)),
        ScoredAlert("anomaly.infrequent_country", ("m1",)),  # the attack's sign-in abroad
        ScoredAlert("anomaly.impossible_travel", ("r1", "r2")),  # a real trip: false
        ScoredAlert("anomaly.mass_download", ("e1", "e2")),  # everyday activity: false
    ]
    s = score(TRUTH, alerts, RAN)
    d = s.detectors
    assert (d["anomaly.failed_signins"].tp, d["failed-sign-ins"].fn) == (1, 1)
    assert (d["anomaly.mass_download"].tp, d["anomaly.mass_download"].fp) == (1, 1)
    assert (d["anomaly.infrequent_country"].other, d["anomaly.infrequent_country"].fp) == (1, 0)
    assert (d["anomaly.impossible_travel"].fp, d["anomaly.impossible_travel"].fn) == (1, 1)
    assert (s.attacks, s.detected) == (3, 2)
    assert s.missed == ["impossible_travel (impossible_travel@example.com, impossible_travel)"]
    assert s.benign_alerted == ["benign_real_travel (benign_real_travel@example.com): "
                                "anomaly.impossible_travel"]  # fmt: skip
    assert len(s.false_alerts) == 2
    assert s.recall == 2 / 3


def test_every_planned_attack_kind_has_a_detector() -> None:
    from datetime import UTC, datetime

    from opencasb.sandbox.org import build_org
    from opencasb.sandbox.scenarios import plan_scenarios

    plan = plan_scenarios(build_org(3, 60), datetime(2026, 10, 20, tzinfo=UTC),
                          datetime(2026, 10, 27, tzinfo=UTC))  # fmt: skip
    assert len(plan.truth) == len(SCENARIOS)
    kinds = {t.expected_detection for t in plan.truth if t.kind == "attack"}
    assert kinds <= set(DETECTED_BY)
