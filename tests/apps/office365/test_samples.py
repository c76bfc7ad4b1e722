"""Every real, third-party Office 365 record in ``shared/samples/office365`` normalizes.

The samples live beside the repository (never copied into it); the tests skip without them.
Each check reads the record's own raw fields, so a new sample file is covered without new code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.apps.mangle import SAMPLES, labelled_samples

from opencasb.apps.office365.ip import parse_client_ip
from opencasb.apps.office365.normalize import normalize
from opencasb.model import Activity, Outcome

RECORDS = labelled_samples("office365")
pytestmark = pytest.mark.skipif(
    not RECORDS, reason=f"no Office 365 samples under {SAMPLES / 'office365'}"
)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != "Not Available"


@pytest.fixture(params=RECORDS, ids=[name for name, _ in RECORDS])
def pair(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Activity]:
    record: dict[str, Any] = request.param[1]
    return record, normalize(record)


def test_identity_time_and_raw(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    assert activity.app == "office365"
    assert activity.source_event_id == record["Id"]
    assert activity.raw is record
    assert activity.time == datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)
    assert activity.activity_type == record.get("Operation", "")


def test_app_name_action_and_outcome(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    app = activity.details["o365_app"]
    assert app and activity.description.startswith(f"{app}: ")
    if record.get("RecordType", -1) not in (-1, "-1"):  # the IP edge cases carry no RecordType
        assert app != "Office 365"
    assert activity.action
    if record.get("Operation"):
        assert activity.action != "unknown"
    status = record.get("ResultStatus")
    assert activity.outcome_detail == status
    if record.get("Operation") == "UserLoginFailed":
        assert activity.outcome is Outcome.FAILURE
        assert activity.outcome_reason
    elif isinstance(status, str) and status.lower() in ("succeeded", "success", "true"):
        assert activity.outcome is Outcome.SUCCESS
    elif isinstance(status, str) and status.lower() in ("failed", "failure", "false"):
        assert activity.outcome is Outcome.FAILURE
    else:
        assert activity.outcome is Outcome.UNKNOWN


def test_actor_is_filled_where_the_record_has_one(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    user_id = record.get("UserId")
    if _present(user_id):
        assert activity.actor.id == user_id
        if "@" in user_id:
            assert activity.actor.email == user_id.lower()
    elif _present(record.get("UserKey")):
        assert activity.actor.id == record["UserKey"]
    if "UserType" in record:
        assert activity.actor.type


def test_source_ip_is_filled_where_the_record_has_one(
    pair: tuple[dict[str, Any], Activity],
) -> None:
    record, activity = pair
    raw_ip = next(
        (record[k] for k in ("ClientIP", "ClientIPAddress", "ActorIpAddress") if record.get(k)),
        None,
    )
    if raw_ip is None:
        assert activity.src_ip is None
        return
    parsed = parse_client_ip(raw_ip)
    if parsed.host:  # a host name is not an address: it is kept, but never as src_ip
        assert activity.src_ip is None
        assert activity.details["client_host"] == parsed.host
    else:
        assert activity.src_ip is not None
        assert activity.src_ip in raw_ip  # ports, brackets and the ::ffff: prefix stripped


def test_context_lands_in_details(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    details = activity.details
    assert all(value is not None and value != "" for value in details.values())
    if isinstance(record.get("Parameters"), list):
        for entry in record["Parameters"]:
            if entry.get("Value"):
                assert details[f"param.{entry['Name']}"] == entry["Value"]
    if isinstance(record.get("PolicyDetails"), list):
        assert details["dlp.policies"] and details["dlp.rules"] and activity.severity
    if "AlertId" in record:
        assert details["alert.name"] == record["Name"]
        assert activity.severity == record["Severity"]
    if record.get("LogonError"):
        assert details["logon_error"] == record["LogonError"]
    if _present(record.get("ObjectId")) and record["ObjectId"] != "Unknown":
        assert details["object_id"] == record["ObjectId"]
        assert activity.targets
    if _present(record.get("SourceFileName")):
        assert any(t.name == record["SourceFileName"] for t in activity.targets)


def test_user_agent(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    ext = record.get("ExtendedProperties")
    from_ext = (
        next((e["Value"] for e in ext if e.get("Name") == "UserAgent"), None)
        if isinstance(ext, list)
        else None
    )
    expected = record.get("UserAgent") or from_ext
    if expected:
        assert activity.user_agent == expected
