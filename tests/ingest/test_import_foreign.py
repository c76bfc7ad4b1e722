"""Exports of other tools import too: SIEM casing, SIEM times, no ids; re-importing adds
nothing; only what cannot be read is quarantined, with the reason. Real third-party samples
(../shared/samples, skipped when absent) are re-exported the way SIEMs do and imported."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.crypto import generate_key
from opencasb.ingest.file_import import import_file
from opencasb.ingest.normalizing import normalize_all
from opencasb.store import Store, open_store


def _samples() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        found = parent / "shared" / "samples"
        if found.is_dir():
            return found
    return None


SAMPLES = _samples()
needs_samples = pytest.mark.skipif(SAMPLES is None, reason="no ../shared/samples")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'opencasb.db'}", key=generate_key())
    try:
        yield s
    finally:
        s.close()


def _siem(record: dict[str, Any], n: int, time_key: str, id_key: str) -> dict[str, Any]:
    """``record`` as a SIEM re-exports it: keys re-cased (by ``n``), the time with a space
    and no zone, every third record without its id."""
    how = ("pascal", "lower", "same")[n % 3]
    out = {_case(k, how): v for k, v in record.items()}
    tk = _case(time_key, how)
    value = out.get(tk)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", value):
        out[tk] = value.replace("T", " ").removesuffix("Z")
    if n % 3 == 2:
        out.pop(_case(id_key, how), None)
    return out


def _case(key: str, how: str) -> str:
    if how == "pascal":
        return key[:1].upper() + key[1:]
    return key.lower() if how == "lower" else key


def _write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _rejects(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT raw, error FROM rejected_records"))]  # type: ignore[misc]


def test_okta_siem_export_imports_and_again_adds_nothing(store: Store, tmp_path: Path) -> None:
    base = {
        "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
        "outcome": {"result": "SUCCESS"},
    }
    records = [
        {"EventType": "user.session.start", "Published": "2024-05-01 10:11:12.345", **base},
        {"eventtype": "user.session.end", "published": "2024-05-01 10:12:00", **base},
        {"eventType": "user.session.start", "published": "2024-05-01 10:13:00", "uuid": "u-1"},
        {"EventType": "user.session.start", "Published": "yesterday", **base},
    ]
    path = _write(tmp_path / "siem.jsonl", records)
    first = import_file(store, "okta", path, instance="okta")
    assert (first.inserted, first.duplicates, first.rejected) == (3, 0, 1)
    iid = store.get_instance("okta").id
    ids = store.activity_ids(iid)
    assert "u-1" in ids and sum(i.startswith("sha256-") for i in ids) == 2
    [(raw, error)] = _rejects(store)
    # Quarantined as the normalizer saw it: conformed, with the reason.
    assert '"published":"yesterday"' in raw
    assert "no usable 'published' time (got 'yesterday')" in error
    again = import_file(store, "okta", path, instance="okta")
    assert (again.inserted, again.duplicates) == (0, 3)
    assert store.count_activities(iid) == 3 and store.count_rejected(iid) == 1


def test_office365_siem_export_imports(store: Store, tmp_path: Path) -> None:
    records = [
        {"creationtime": "2021-02-03 17:11:39", "operation": "FileAccessed", "recordtype": 6,
         "userid": "ann@example.com", "workload": "SharePoint", "id": "r-1"},
        {"CreationTime": "2021-02-03 17:11:40.123 UTC", "Operation": "FileAccessed",
         "RecordType": 6, "UserId": "ann@example.com", "Workload": "SharePoint"},
        {"CreationTime": "not a time", "Operation": "FileAccessed", "RecordType": 6},
    ]  # fmt: skip
    path = _write(tmp_path / "siem.jsonl", records)
    done = import_file(store, "office365", path, instance="o365")
    assert (done.inserted, done.rejected) == (2, 1)
    ids = store.activity_ids(store.get_instance("o365").id)
    assert "r-1" in ids and any(i.startswith("sha256-") for i in ids)
    assert "no usable 'CreationTime'" in _rejects(store)[0][1]
    assert import_file(store, "office365", path, instance="o365").inserted == 0


def _sample_records(app: str) -> list[dict[str, Any]]:
    assert SAMPLES is not None
    return [
        json.loads(line)
        for path in sorted((SAMPLES / app).glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


@needs_samples
@pytest.mark.parametrize(
    ("app", "normalize", "time_key", "id_key"),
    [
        ("okta", normalize_okta, "published", "uuid"),
        ("office365", normalize_o365, "CreationTime", "Id"),
    ],
)
def test_real_samples_import_as_published_and_as_siems_export_them(
    store: Store, tmp_path: Path, app: str, normalize: Any, time_key: str, id_key: str
) -> None:
    records = _sample_records(app)
    acts, rejected = normalize_all(normalize, records)
    assert not rejected  # every published record is readable
    # As published: every distinct record id is stored.
    plain = import_file(store, app, _write(tmp_path / "plain.jsonl", records), instance="plain")
    distinct = {a.source_event_id for a in acts}
    assert plain.inserted == len(distinct) and plain.rejected == 0
    # As a SIEM re-exports them: every record still imports, with the same times.
    foreign = [_siem(r, n, time_key, id_key) for n, r in enumerate(records)]
    path = _write(tmp_path / "siem.jsonl", foreign)
    done = import_file(store, app, path, instance="siem")
    assert done.rejected == 0
    siem = store.get_instance("siem").id
    kept = {r[id_key] for n, r in enumerate(records) if n % 3 != 2}
    stored = store.activity_ids(siem)
    assert kept <= stored
    assert done.inserted == len(stored) and len(stored - kept) >= 1
    assert all(i.startswith("sha256-") for i in stored - kept)
    assert import_file(store, app, path, instance="siem").inserted == 0
