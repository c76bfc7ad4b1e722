"""Property: whatever happens to a real record's fields, normalize raises only NormalizeError.

Records are the third-party samples when present (else one hand-written record), with random
fields at any depth deleted, set to null, or replaced by arbitrary JSON values. Derandomized,
so a run is repeatable.
"""

from __future__ import annotations

import copy
from datetime import UTC
from typing import Any

from hypothesis import HealthCheck, given, settings
from tests.apps.mangle import json_values, mangled_records, sample_records

from opencasb.apps.office365.normalize import normalize
from opencasb.errors import NormalizeError
from opencasb.model import Activity

FALLBACK: dict[str, Any] = {
    "Id": "8133912e-b888-4849-b8fb-070710b35400",
    "CreationTime": "2021-01-01T23:59:56",
    "Operation": "New-InboxRule",
    "RecordType": 1,
    "Workload": "Exchange",
    "UserId": "user@example.com",
    "UserType": 0,
    "ClientIP": "[2001:db8::1]:443",
    "Parameters": [{"Name": "ForwardTo", "Value": "x@evil.example"}],
    "ModifiedProperties": [{"Name": "A", "OldValue": "[1]", "NewValue": "[]"}],
    "ExtendedProperties": [{"Name": "UserAgent", "Value": "curl/8"}],
}

RECORDS = sample_records("office365") or [FALLBACK]
TRICKY = ["", "<null>", "Not Available", "15", "[", "[1,2]", "{}", "-X (", "1.2.3.4:x", "[::1]:9"]


@settings(
    derandomize=True,
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mangled_records(RECORDS, json_values(TRICKY)))
def test_normalize_raises_nothing_but_normalize_error(record: dict[str, Any]) -> None:
    snapshot = copy.deepcopy(record)
    try:
        activity = normalize(record)
    except NormalizeError as exc:
        assert "'Id'" in str(exc) or "CreationTime" in str(exc)
        return
    assert isinstance(activity, Activity)
    assert activity.time.tzinfo is UTC
    assert activity.raw is record
    assert isinstance(activity.action, str) and activity.action
    assert activity.details["o365_app"]
    assert all(value is not None for value in activity.details.values())
    assert record == snapshot  # the record is left unchanged
