"""Records re-exported by SIEMs and detection tools come back in the API's shape."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from opencasb.apps.office365.importer import OFFICE365_SHAPE
from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.importer import OKTA_SHAPE
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.formats.conform import DERIVED_PREFIX, conform, derived_id

OKTA = {
    "uuid": "f790999f-fe87-467a-9880-6982a583986c",
    "published": "2024-05-01T10:11:12.345Z",
    "eventType": "user.session.start",
    "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
    "client": {"ipAddress": "198.51.100.7", "geographicalContext": {"country": "France"}},
    "outcome": {"result": "SUCCESS"},
    "debugContext": {"debugData": {"requestUri": "/login", "RequestId": "x"}},
}
O365 = {
    "Id": "0e6ebaec-a3fc-4996-b06b-1fbc7c619afd",
    "CreationTime": "2021-02-03T17:11:39",
    "Operation": "FileAccessed",
    "RecordType": 6,
    "UserId": "ann@example.com",
    "Workload": "SharePoint",
    "ClientIP": "198.51.100.7",
    "Actor": [{"ID": "ann@example.com", "Type": 5}],
    "Item": {"Id": "item-1", "Subject": "hello"},
}


def _recase(value: Any, how: str) -> Any:
    """``value`` with every key re-cased: "pascal" (EventType), "lower" (eventtype)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k[:1].upper() + k[1:] if how == "pascal" else k.lower()
            out[key] = v if k == "debugData" else _recase(v, how)
        return out
    if isinstance(value, list):
        return [_recase(v, how) for v in value]
    return value


@pytest.mark.parametrize("record", [OKTA, O365], ids=["okta", "office365"])
def test_a_record_in_the_api_shape_is_unchanged(record: dict[str, Any]) -> None:
    shape = OKTA_SHAPE if "uuid" in record else OFFICE365_SHAPE
    before = copy.deepcopy(record)
    assert conform(record, shape) == record
    assert record == before  # the input is not modified


@pytest.mark.parametrize("how", ["pascal", "lower"])
def test_okta_keys_in_other_casing(how: str) -> None:
    foreign = _recase(OKTA, how)
    assert foreign != OKTA
    out = conform(foreign, OKTA_SHAPE)
    assert out == OKTA  # debugData's own keys kept their spelling throughout
    assert normalize_okta(out) == normalize_okta(OKTA)


def test_office365_top_keys_in_other_casing_and_inner_pairs() -> None:
    foreign = _recase(O365, "lower")
    out = conform(foreign, OFFICE365_SHAPE)
    assert out["Id"] == O365["Id"] and out["CreationTime"] == O365["CreationTime"]
    assert out["Actor"] == [{"id": "ann@example.com", "Type": 5}]  # id vs ID is ambiguous
    assert out["Item"] == {"id": "item-1", "subject": "hello"}  # not a known inner key
    assert normalize_o365(out).activity_type == "FileAccessed"
    assert normalize_o365(out).actor == normalize_o365(O365).actor


def test_a_key_present_in_both_spellings_is_not_merged() -> None:
    record = {**OKTA, "EventType": "other.event"}
    out = conform(record, OKTA_SHAPE)
    assert out["eventType"] == "user.session.start" and out["EventType"] == "other.event"


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2024-05-01 10:11:12", "2024-05-01T10:11:12Z"),
        ("2024-05-01 10:11:12.345", "2024-05-01T10:11:12.345Z"),
        ("2024-05-01 10:11:12.3456789", "2024-05-01T10:11:12.3456789Z"),
        ("2024-05-01 10:11:12,345 UTC", "2024-05-01T10:11:12.345Z"),
        ("2024-05-01 10:11:12Z", "2024-05-01T10:11:12Z"),
        ("2024-05-01 10:11:12+00:00", "2024-05-01T10:11:12Z"),
        ("2024-05-01T10:11:12.345Z", "2024-05-01T10:11:12.345Z"),
        ("2024-05-01T12:11:12+02:00", "2024-05-01T12:11:12+02:00"),  # ISO: left alone
        ("yesterday", "yesterday"),  # the normalizer quarantines it, with the reason
    ],
)
def test_siem_times_become_api_times(published: str, expected: str) -> None:
    assert conform({**OKTA, "published": published}, OKTA_SHAPE)["published"] == expected
    o365 = conform({**O365, "CreationTime": published}, OFFICE365_SHAPE)["CreationTime"]
    if published[10:11] == "T" or published == "yesterday":
        assert o365 == published  # ISO already, or not a time: left as it is
    else:
        assert o365 == expected.removesuffix("Z")  # Microsoft's form: UTC without a zone


def test_space_times_give_the_same_activity_time() -> None:
    spaced = conform({**OKTA, "published": "2024-05-01 10:11:12.345"}, OKTA_SHAPE)
    assert normalize_okta(spaced).time == normalize_okta(OKTA).time
    spaced = conform({**O365, "CreationTime": "2021-02-03 17:11:39"}, OFFICE365_SHAPE)
    assert normalize_o365(spaced).time == normalize_o365(O365).time


@pytest.mark.parametrize("missing", [None, "", "   ", 42])
def test_a_record_without_an_id_gets_one_from_its_content(missing: Any) -> None:
    record = {k: v for k, v in OKTA.items() if k != "uuid"}
    if missing is not None:
        record["uuid"] = missing
    out = conform(record, OKTA_SHAPE)
    rid = out["uuid"]
    assert rid.startswith(DERIVED_PREFIX) and len(rid) == len(DERIVED_PREFIX) + 64
    assert normalize_okta(out).source_event_id == rid
    # The same event exported again, in other casing and time form: the same id.
    again = _recase({k: v for k, v in OKTA.items() if k != "uuid"}, "pascal")
    again["Published"] = "2024-05-01 10:11:12.345"
    assert conform(again, OKTA_SHAPE)["uuid"] == rid
    # Other content, another id.
    other = conform({**record, "eventType": "user.session.end"}, OKTA_SHAPE)
    assert other["uuid"] != rid


def test_derived_id_is_canonical_and_takes_any_json() -> None:
    assert derived_id({"a": 1, "b": {"y": 2, "x": 1}}) == derived_id(
        {"b": {"x": 1, "y": 2}, "a": 1}
    )
    assert derived_id({"big": 2**80}) != derived_id({"big": 2**80 + 1})  # beyond 64 bits
