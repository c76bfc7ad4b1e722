"""Helpers of the notifier tests: alerts, raised through the detection stage's own commit.
The ``store`` (both engines) and ``clock`` fixtures are the root conftest's."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import T0

from opencasb.store import Store
from opencasb.store.detection import AlertWrite


def alert(
    n: int, *, severity: str = "high", evidence: tuple[int, ...] = (), **over: object
) -> AlertWrite:
    fields: dict[str, object] = {
        "id": f"alert-{n:03d}",
        "policy_id": "tpl.mass_download",
        "title": f"Mass download: user{n}@example.com",
        "severity": severity,
        "category": "threat_detection",
        "tactic": "exfiltration",
        "entity": f"user{n}@example.com",
        "explanation": f"user{n} downloaded 60 files in 1 minute (threshold 50)",
        "evidence": evidence or (n,),
        "first_time": T0 + timedelta(minutes=n),
        "last_time": T0 + timedelta(minutes=n, seconds=30),
        "historical": False,
    }
    fields.update(over)
    return AlertWrite(**fields)  # type: ignore[arg-type]


def raise_alerts(store: Store, *alerts: AlertWrite) -> None:
    """Commit ``alerts`` as one detection-stage pass would (same transaction as its cursor)."""
    det = store.detection
    expected = det.get_stage("test")
    cursor = (expected.cursor if expected else 0) + 1
    assert det.commit_stage(
        "test", expected=expected, cursor=cursor, state="{}", new_alerts=alerts, disabled={}
    )
