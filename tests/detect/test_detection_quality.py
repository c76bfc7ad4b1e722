"""Detection quality on a small demo organisation (the default seed): generated, stored in a
real SQLite store and detected by the real stage with every anomaly detector and the demo's
policies, then scored against ``ground-truth.json``: every labelled attack is detected and
no alert is false (none on a benign look-alike, none on everyday activity).

``bench/bench_detection_quality.py`` runs the same at scale and over other seeds. 75 people
and 14 days of Okta history (the scenarios sit in the last 7, after the 7 days of learning).
"""

from __future__ import annotations

from pathlib import Path

from opencasb.sandbox.scenarios.quality import run_quality

SEED, SIZE, DAYS = 1, 75, 14


def test_every_attack_is_detected_and_no_alert_is_false(tmp_path: Path) -> None:
    run = run_quality(SEED, SIZE, DAYS, tmp_path)
    s = run.score
    assert (tmp_path / "ground-truth.json").exists()
    assert s.attacks == 17 and s.missed == []
    assert s.benign_alerted == []
    assert [(a.policy_id, a.explanation) for a in s.false_alerts] == []
    # every detector an attack names caught it (anomaly detections and policies alike)
    caught = {d for d, r in s.detectors.items() if r.tp}
    assert {"anomaly.impossible_travel", "anomaly.mfa_reenrolment", "new-super-admin",
            "anomaly.disabled_user_activity", "risky-oauth-consent"} <= caught  # fmt: skip
    # each alert explains itself: places and speed, or the baseline it exceeded
    travel = [a for a in run.alerts if a.policy_id == "anomaly.impossible_travel"]
    assert travel and all((" km/h" in a.explanation and " after " in a.explanation)
                          or " before " in a.explanation for a in travel)  # fmt: skip
    volume = [a for a in run.alerts if a.policy_id in ("anomaly.mass_download",
                                                        "anomaly.failed_signins")]  # fmt: skip
    assert volume and all("busiest hour" in a.explanation for a in volume)
