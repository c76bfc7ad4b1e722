"""Property: whatever happens to a real record's fields, normalize raises only NormalizeError.

Records are the third-party samples when present (else the hand-written event of
``test_normalize``), with random fields at any depth deleted, set to null, or replaced by
arbitrary JSON values. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import copy
from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, given, settings
from tests.apps.mangle import json_values, mangled_records, sample_records

from opencasb.apps.okta.normalize import normalize
from opencasb.errors import NormalizeError
from opencasb.model import Activity


def _records() -> list[dict[str, Any]]:
    found = sample_records("okta")
    if found:
        return found
    from tests.apps.okta.test_normalize import EVENT  # hand-written, when samples are absent

    return [EVENT]


RECORDS = _records()
TRICKY = ["null", "", "unknown", "1.5", "AS12", "2020-01-01T00:00:00Z", "{}", "[1]"]


@settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mangled_records(RECORDS, json_values(TRICKY)))
def test_normalize_raises_nothing_but_normalize_error(record: dict[str, Any]) -> None:
    snapshot = copy.deepcopy(record)
    try:
        activity = normalize(record)
    except NormalizeError as exc:
        assert "uuid" in str(exc) or "published" in str(exc)
        return
    assert isinstance(activity, Activity)
    assert activity.time.tzinfo is UTC
    assert activity.raw is record
    assert isinstance(activity.action, str) and activity.action
    assert all(value is not None for value in activity.details.values())
    assert record == snapshot  # the record is left unchanged
