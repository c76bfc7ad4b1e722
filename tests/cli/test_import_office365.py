"""`opencasb import office365 FILE`: Purview CSV or JSON records, idempotent, bad rows counted."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencasb.apps.office365.normalize import normalize
from opencasb.ingest.runner import normalize_all

from .conftest import Cli, assert_clean, flat

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "office365"
HEADER = ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData"]


def rec(n: int) -> dict[str, Any]:
    return {
        "CreationTime": f"2024-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}",
        "Id": f"5b7a6c1e-0000-4000-8000-{n:012d}",
        "Operation": "FileDownloaded",
        "OrganizationId": "b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd",
        "RecordType": 6,
        "UserId": f"user{n % 7}@contoso.com",
        "Workload": "OneDrive",
        "ClientIP": "203.0.113.7",
        "ObjectId": f"https://contoso-my.sharepoint.com/personal/doc{n}.docx",
    }


def purview_csv(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    """A Purview audit-search export; a str row is put in AuditData as it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows:
        if isinstance(row, str):
            writer.writerow(["", "", "", "", "", row])
        else:
            audit = json.dumps(row)
            writer.writerow([row["Id"], row["CreationTime"], 6, row["Operation"], "", audit])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    return path


def _stored(cli: Cli, instance: str) -> tuple[int, int, set[str]]:
    store = cli.open_store()
    try:
        rec_ = store.get_instance(instance)
        assert rec_.app == "office365" and not rec_.enabled  # import-only: never polls
        return (
            store.count_activities(rec_.id),
            store.count_rejected(rec_.id),
            store.activity_ids(rec_.id),
        )
    finally:
        store.close()


def test_csv_then_the_same_file_again(cli: Cli, tmp_path: Path) -> None:
    records = [rec(n) for n in range(1500)]  # more than one batch
    path = purview_csv(tmp_path / "AuditLog_2024-03-01.csv", list(records))
    first = cli.ok("import", "office365", str(path))
    assert f"imported {path}: 1,500 new, 0 already present, 0 quarantined" in flat(first.stdout)
    assert _stored(cli, "office365") == (1500, 0, {r["Id"] for r in records})

    again = cli.ok("import", "office365", str(path))
    assert "0 new, 1,500 already present, 0 quarantined" in flat(again.stdout)
    assert _stored(cli, "office365")[:2] == (1500, 0)
    listed = cli.jsonl("--app", "office365", "--limit", "0")
    assert {a["source_event_id"] for a in listed} == {r["Id"] for r in records}


def test_json_lines_gzip_then_csv_of_the_same_records(cli: Cli, tmp_path: Path) -> None:
    records = [rec(n) for n in range(40)]
    jsonl = tmp_path / "blobs.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records[:30])))
    first = cli.ok("import", "office365", str(jsonl), "--instance", "m365-history")
    assert "30 new, 0 already present" in flat(first.stdout)
    csv_path = purview_csv(tmp_path / "x.csv", list(records))
    again = cli.ok("import", "office365", str(csv_path), "--instance", "m365-history")
    assert "10 new, 30 already present" in flat(again.stdout)
    assert _stored(cli, "m365-history")[0] == 40


def test_rejected_rows_show_in_the_counts(cli: Cli, tmp_path: Path) -> None:
    # A record without an Id imports with one derived from its content; a record cut short
    # cannot be read and is quarantined, once, however often the file is imported.
    no_id = {k: v for k, v in rec(3).items() if k != "Id"}
    bad_time = {**rec(4), "CreationTime": "last Tuesday"}
    rows: list[dict[str, Any] | str] = [rec(1), '{"Id": "cut short', rec(2), json.dumps(no_id)]
    rows.append(bad_time)
    path = purview_csv(tmp_path / "audit.csv", rows)
    result = cli.ok("import", "office365", str(path))
    assert "3 new, 0 already present, 2 quarantined" in flat(result.stdout)
    assert _stored(cli, "office365")[:2] == (3, 2)
    again = cli.ok("import", "office365", str(path))
    assert "0 new, 3 already present, 2 quarantined" in flat(again.stdout)
    assert _stored(cli, "office365")[:2] == (3, 2)


def test_a_csv_without_audit_data_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text("CreationDate,UserIds,Operations\n2024-03-01,a@b.c,FileAccessed\n")
    result = cli("import", "office365", str(path))
    assert_clean(result)
    assert result.exit_code == 1
    out = flat(result.stderr)
    assert "without an AuditData column" in out and "fix: export again" in out
    store = cli.open_store()
    try:
        assert store.list_instances() == []  # a refused file leaves no instance behind
    finally:
        store.close()


def test_into_an_instance_of_another_app_is_refused(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    cli.ok("import", "okta", str(empty))  # creates the import-only instance "okta"
    path = purview_csv(tmp_path / "a.csv", [rec(1)])
    result = cli("import", "office365", str(path), "--instance", "okta")
    assert_clean(result)
    assert result.exit_code == 1
    assert "okta is an instance of okta, not office365" in flat(result.stderr)


def test_missing_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    result = cli("import", "office365", str(path))
    assert_clean(result)
    assert result.exit_code == 1
    assert flat(result.stderr) == (
        f"error: no such file: {path} fix: give the path of the export file"
    )


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no Office 365 samples under {SAMPLES}")
def test_third_party_samples_as_a_purview_csv(cli: Cli, tmp_path: Path) -> None:
    records = [
        orjson.loads(line)
        for path in sorted(SAMPLES.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    acts, rejected = normalize_all(normalize, records)
    distinct = len({a.source_event_id for a in acts})
    rows: list[dict[str, Any] | str] = [json.dumps(r) for r in records]
    path = purview_csv(tmp_path / "samples.csv", rows)
    out = flat(cli.ok("import", "office365", str(path)).stdout)
    assert f"{distinct:,} new, {len(acts) - distinct:,} already present" in out
    assert f"{len(rejected):,} quarantined" in out
    assert _stored(cli, "office365")[:2] == (distinct, len(rejected))
    again = flat(cli.ok("import", "office365", str(path)).stdout)
    assert f"0 new, {len(acts):,} already present" in again


def test_the_apps_list_shows_the_services_an_import_brought(cli: Cli, tmp_path: Path) -> None:
    exchange = {**rec(1), "Operation": "New-InboxRule", "RecordType": 1, "Workload": "Exchange"}
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(rec(0)) + "\n")
    cli.ok("import", "office365", str(path))
    assert "(OneDrive)" in flat(cli.ok("apps").stdout)
    path.write_text(json.dumps(exchange) + "\n")
    cli.ok("import", "office365", str(path))
    assert "(Exchange, OneDrive)" in flat(cli.ok("apps").stdout)
