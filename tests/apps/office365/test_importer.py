"""Reading Office 365 audit exports: JSON lines, arrays, gzip, and the Purview audit-search CSV."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencasb.apps.office365 import importer
from opencasb.apps.office365.importer import BadRecord, read_office365_export
from opencasb.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "samples" / "office365"

PURVIEW = ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData"]
PURVIEW_ADMIN_UNITS = [*PURVIEW, "AssociatedAdminUnits", "AssociatedAdminUnitsNames"]
# The old Purview export, and Search-UnifiedAuditLog | Export-Csv (all the object's properties).
OLD_PURVIEW = ["CreationDate", "UserIds", "Operations", "AuditData"]
POWERSHELL = [
    "RunspaceId",
    "RecordType",
    "CreationDate",
    "UserIds",
    "Operations",
    "AuditData",
    "ResultIndex",
    "ResultCount",
    "Identity",
    "IsValid",
    "ObjectState",
]
BOM = b"\xef\xbb\xbf"


def rec(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": f"00000000-0000-0000-0000-{n:012d}",
        "Operation": "FileAccessed",
        "OrganizationId": "b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd",
        "RecordType": 6,
        "UserId": "alice@contoso.com",
        "Workload": "SharePoint",
        "ClientIP": "203.0.113.7",
        **extra,
    }


def _cells(columns: list[str], record: dict[str, Any]) -> list[str]:
    summary = {
        "RecordId": record.get("Id", ""),
        "CreationDate": record.get("CreationTime", ""),
        "RecordType": str(record.get("RecordType", "")),
        "Operation": record.get("Operation", ""),
        "Operations": record.get("Operation", ""),
        "UserId": record.get("UserId", ""),
        "UserIds": record.get("UserId", ""),
        "Identity": record.get("Id", ""),
        "AuditData": json.dumps(record),
    }
    return [summary.get(column, "") for column in columns]


def csv_text(
    records: list[dict[str, Any]], columns: list[str] = PURVIEW, *, quote_all: bool = False
) -> str:
    """A CSV the way the exporters write it: CRLF, doubled quotes inside quoted cells."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(_cells(columns, r) for r in records)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read(path: Path) -> list[dict[str, Any] | BadRecord]:
    return list(read_office365_export(path))


def bad_records(items: list[dict[str, Any] | BadRecord]) -> list[BadRecord]:
    return [item for item in items if isinstance(item, BadRecord)]


# JSON


def test_json_lines(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(rec(n)) for n in range(3)) + "\n\n"
    assert read(write(tmp_path, "audit.jsonl", text)) == [rec(0), rec(1), rec(2)]


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_as_a_content_blob_holds_it(tmp_path: Path, indent: int | None) -> None:
    path = write(tmp_path, "blob.json", json.dumps([rec(1), rec(2)], indent=indent))
    assert read(path) == [rec(1), rec(2)]


def test_an_object_wrapping_the_records(tmp_path: Path) -> None:
    document = {"@odata.context": "x", "value": [rec(1), rec(2)]}
    assert read(write(tmp_path, "page.json", json.dumps(document))) == [rec(1), rec(2)]


def test_a_record_with_nested_arrays_is_not_taken_for_a_wrapper(tmp_path: Path) -> None:
    record = rec(1, ExtendedProperties=[{"Name": "UserAgent", "Value": "x"}])
    assert read(write(tmp_path, "one.json", json.dumps(record))) == [record]


def test_malformed_json_lines_are_bad_records(tmp_path: Path) -> None:
    lines = [json.dumps(rec(1)), '{"Id": "cut', "[1, 2]", json.dumps(rec(2))]
    out = read(write(tmp_path, "audit.jsonl", "\n".join(lines)))
    assert out[0] == rec(1) and out[3] == rec(2)
    assert [(b.line_no, b.text) for b in bad_records(out)] == [(2, '{"Id": "cut'), (3, "[1, 2]")]


def test_powershell_json_envelopes_are_unwrapped(tmp_path: Path) -> None:
    # Search-UnifiedAuditLog | ConvertTo-Json: the record is a JSON string in AuditData.
    envelopes = [
        {
            "RecordType": "SharePointFileOperation",
            "Identity": "i-1",
            "AuditData": json.dumps(rec(1)),
        },
        {"RecordType": "SharePointFileOperation", "Identity": "i-2", "AuditData": "{oops"},
        {"RecordType": "SharePointFileOperation", "Identity": "i-3", "AuditData": rec(3)},
        {"RecordType": "SharePointFileOperation", "Identity": "i-4", "AuditData": None},
    ]
    out = read(write(tmp_path, "ps.json", json.dumps(envelopes, indent=2)))
    assert out[0] == rec(1) and out[2] == rec(3)
    second, fourth = bad_records(out)
    assert second.line_no == 2 and second.text == "{oops"
    assert "AuditData of record i-2 is not valid JSON" in second.error
    assert fourth.line_no == 4 and "AuditData is null" in fourth.error


# CSV


@pytest.mark.parametrize("columns", [PURVIEW, PURVIEW_ADMIN_UNITS, OLD_PURVIEW, POWERSHELL])
def test_csv_of_every_known_layout(tmp_path: Path, columns: list[str]) -> None:
    records = [rec(1), rec(2, Operation="FileDownloaded"), rec(3)]
    path = write(tmp_path, "export.csv", csv_text(records, columns))
    assert read(path) == records


def test_csv_with_byte_order_mark_and_quoted_header(tmp_path: Path) -> None:
    text = csv_text([rec(1), rec(2)], PURVIEW_ADMIN_UNITS, quote_all=True)
    assert text.startswith('"RecordId","CreationDate"')
    assert read(write(tmp_path, "export.csv", BOM + text.encode())) == [rec(1), rec(2)]


def test_csv_from_windows_powershell_with_type_line(tmp_path: Path) -> None:
    text = "#TYPE Deserialized.Microsoft.Exchange.Management.AuditRecord\r\n" + csv_text(
        [rec(1)], POWERSHELL, quote_all=True
    )
    assert read(write(tmp_path, "export.csv", text)) == [rec(1)]


def test_utf16_csv(tmp_path: Path) -> None:
    record = rec(1, ObjectId="https://contoso.sharepoint.com/Résumé – 2024.docx")
    path = write(tmp_path, "export.csv", csv_text([record]).encode("utf-16"))
    assert read(path) == [record]


def test_format_is_told_by_content_not_name(tmp_path: Path) -> None:
    as_json = write(tmp_path, "export.json", csv_text([rec(1)]))
    as_csv = write(tmp_path, "export.csv", json.dumps(rec(2)) + "\n")
    assert read(as_json) == [rec(1)]
    assert read(as_csv) == [rec(2)]


@pytest.mark.parametrize("name", ["export.csv.gz", "export.csv"])
def test_gzip_csv_and_json_whatever_the_name(tmp_path: Path, name: str) -> None:
    csv_path = write(tmp_path, name, gzip.compress(csv_text([rec(1), rec(2)]).encode()))
    json_path = write(tmp_path, "j" + name, gzip.compress(json.dumps([rec(3)]).encode()))
    assert read(csv_path) == [rec(1), rec(2)]
    assert read(json_path) == [rec(3)]


def test_bad_rows_are_bad_records_and_the_rest_is_read(tmp_path: Path) -> None:
    good = csv_text([rec(1)]).splitlines()
    rows = [
        good[0],  # header, line 1
        good[1],  # line 2
        '"id-3",2024-03-01,6,FileAccessed,bob,"{""Id"": ""cut"',  # JSON cut short
        "id-4,2024-03-01,6,FileAccessed,bob,",  # empty AuditData
        'id-5,2024-03-01,6,FileAccessed,bob,"[1, 2]"',
        "id-6,2024-03-01",  # short row
        "",  # blank line
        csv_text([rec(7)]).splitlines()[1],  # line 8
    ]
    out = read(write(tmp_path, "export.csv", "\r\n".join(rows) + "\r\n"))
    assert out[0] == rec(1) and out[-1] == rec(7)
    bad = bad_records(out)
    assert [b.line_no for b in bad] == [3, 4, 5, 6]
    assert "AuditData of record id-3 is not valid JSON" in bad[0].error
    assert bad[0].text.startswith('{"Id": "cut')
    assert bad[1].error == "AuditData of record id-4 is empty"
    assert bad[2].error == "AuditData of record id-5 is an array" and bad[2].text == "[1, 2]"
    assert bad[3].error == "the row has 2 columns; AuditData is column 6"
    assert bad[3].text == "id-6,2024-03-01"


def test_rows_spanning_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    pretty = json.dumps(rec(1), indent=2)  # a newline inside the quoted cell
    text = csv_text([]) + f'x,,,,,"{pretty.replace(chr(34), chr(34) * 2)}"\r\n'
    text += "y,,,,,nope\r\n"
    out = read(write(tmp_path, "export.csv", text))
    assert out[0] == rec(1)
    [bad] = bad_records(out)
    assert bad.line_no == 2 + pretty.count("\n") + 1


def test_a_large_audit_data_cell_is_read(tmp_path: Path) -> None:
    # Far past the csv module's default 128 KiB field limit.
    members = [{"UPN": f"user{n}@contoso.com", "Role": 1} for n in range(12_000)]
    big = rec(1, Operation="MemberAdded", Members=members)
    assert len(json.dumps(big)) > 512 * 1024
    assert read(write(tmp_path, "export.csv", csv_text([big, rec(2)]))) == [big, rec(2)]


def test_a_cell_over_the_limit_is_one_bad_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = csv.field_size_limit(10_000)
    monkeypatch.setattr(importer, "FIELD_LIMIT", 10_000)
    try:
        big = rec(1, Padding="x" * 20_000)
        out = read(write(tmp_path, "export.csv", csv_text([rec(0), big, rec(2)])))
    finally:
        csv.field_size_limit(previous)
    assert out[0] == rec(0) and out[-1] == rec(2)
    [bad] = bad_records(out)
    assert bad.line_no == 3 and "field larger than field limit" in bad.error


def test_invalid_utf8_costs_only_its_row(tmp_path: Path) -> None:
    data = csv_text([rec(1)]).encode() + b'id-2,,,,,"{""Id"": ""\xff\xfe""}"\r\n'
    out = read(write(tmp_path, "export.csv", data))
    assert out[0] == rec(1)
    [bad] = bad_records(out)
    assert bad.line_no == 3 and "\ufffd" in bad.text and "not valid JSON" in bad.error


def test_excel_truncation_is_explained(tmp_path: Path) -> None:
    cut = json.dumps(rec(1, Padding="x" * 40_000))[:32_767]
    text = csv_text([]) + "id-1,,,,," + '"' + cut.replace('"', '""') + '"\r\n'
    [bad] = read(write(tmp_path, "export.csv", text))
    assert isinstance(bad, BadRecord) and "Excel's 32,767-character cell limit" in bad.error


def test_a_csv_without_audit_data_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "summary.csv", "CreationDate,UserIds,Operations\r\n2024-03-01,a,b\r\n")
    with pytest.raises(ConfigError, match="without an AuditData column") as caught:
        read(path)
    assert "CreationDate, UserIds, Operations" in str(caught.value) and caught.value.fix


def test_neither_json_nor_csv_header_reads_as_json_lines(tmp_path: Path) -> None:
    out = read(write(tmp_path, "audit.log", "garbage first line\n" + json.dumps(rec(1))))
    assert isinstance(out[0], BadRecord) and out[0].line_no == 1
    assert out[1] == rec(1)


# Files


@pytest.mark.parametrize("text", ["", "\r\n  \n", "\ufeff", "#TYPE Something\r\n"])
def test_empty_files_yield_nothing(tmp_path: Path, text: str) -> None:
    assert read(write(tmp_path, "empty.csv", text)) == []


def test_a_header_alone_yields_nothing(tmp_path: Path) -> None:
    assert read(write(tmp_path, "export.csv", csv_text([]))) == []


def test_unreadable_paths_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read Office 365 export"):
        read(tmp_path / "missing.csv")
    with pytest.raises(ConfigError):
        read(tmp_path)
    with pytest.raises(ConfigError) as caught:
        read(write(tmp_path, "broken.csv.gz", gzip.compress(csv_text([rec(1)]).encode())[:40]))
    assert caught.value.fix


def _peak_while_reading(path: Path) -> int:
    tracemalloc.start()
    try:
        assert sum(1 for _ in read_office365_export(path)) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _records(n: int) -> Iterator[dict[str, Any]]:
    return (rec(i, Padding="x" * 400) for i in range(n))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_csv_and_json_lines_are_streamed_not_loaded(tmp_path: Path, fmt: str) -> None:
    def make(name: str, n: int) -> Path:
        path = tmp_path / f"{name}.{fmt}"
        with path.open("w", encoding="utf-8", newline="") as stream:
            if fmt == "csv":
                writer = csv.writer(stream)
                writer.writerow(PURVIEW)
                writer.writerows(_cells(PURVIEW, r) for r in _records(n))
            else:
                stream.writelines(json.dumps(r) + "\n" for r in _records(n))
        return path

    small = _peak_while_reading(make("small", 200))
    large = _peak_while_reading(make("large", 15_000))  # ~10 MB on disk
    assert large < small + 256 * 1024


def test_reading_is_lazy(tmp_path: Path) -> None:
    records = read_office365_export(write(tmp_path, "export.csv", csv_text([rec(1), rec(2)])))
    assert next(records) == rec(1)
    records.close()  # type: ignore[attr-defined]  # a generator; release the file now


def _samples() -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted(SAMPLES.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no Office 365 samples under {SAMPLES}")
@pytest.mark.parametrize("columns", [PURVIEW_ADMIN_UNITS, OLD_PURVIEW])
def test_third_party_samples_round_trip_through_csv(tmp_path: Path, columns: list[str]) -> None:
    records = _samples()
    assert records
    path = write(tmp_path, "samples.csv", BOM + csv_text(records, columns).encode())
    assert read(path) == records
