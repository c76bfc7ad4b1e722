"""Generated audit records have the shape of real ones (the published samples).

For each (RecordType, Operation) found both in the samples and in generated records (one name
can mean two things: ``Create`` is a mail item and a Dynamics row): every top-level field that
all samples of it carry is in every generated record; every generated field is one the
samples carry (for that Operation, or for records of the same RecordType) or one the research
notes document for it; and each field's JSON type is one the samples use (numbers sent as
strings are the documented drift of RecordType, UserType and Version).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from opencasb.sandbox.office365.generate import generate_records, tenant_for
from opencasb.sandbox.org import build_org

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "office365"
# Fields the research notes document where the samples have none (api-office365.md §2.5).
DOCUMENTED = {
    "UserLoggedIn": {"DeviceProperties", "LogonError"},  # (b): newer STS records
    "UserLoginFailed": {"DeviceProperties"},
    "Set-Mailbox": {"ClientIP"},  # (e): the forwarding example
}
STRINGLY = {"RecordType", "UserType", "Version"}  # numbers some producers send as strings
Key = tuple[int, str]


def _key(record: dict[str, Any]) -> Key:
    return int(record["RecordType"]), record["Operation"]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    if not SAMPLES.is_dir():
        pytest.skip("the shared samples folder is absent")
    records = []
    for file in sorted(SAMPLES.glob("*.jsonl")):
        records += [orjson.loads(line) for line in file.read_bytes().splitlines() if line.strip()]
    return [r for r in records if r.get("Operation")]


@pytest.fixture(scope="module")
def generated() -> dict[Key, list[dict[str, Any]]]:
    org = build_org(4, 800)
    start = datetime(2026, 10, 5, tzinfo=UTC)
    out: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for record, _ in generate_records(org, tenant_for(org), start, start + timedelta(days=14)):
        group = out[_key(record)]
        if len(group) < 300:
            group.append(record)
    return out


def test_generated_records_have_the_sample_shapes(
    samples: list[dict[str, Any]], generated: dict[Key, list[dict[str, Any]]]
) -> None:
    by_op: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    by_type: dict[int, set[str]] = defaultdict(set)
    types: dict[tuple[Key, str], set[str]] = defaultdict(set)
    for record in samples:
        by_op[_key(record)].append(record)
        by_type[int(record["RecordType"])] |= set(record)
        for key, value in record.items():
            types[(_key(record), key)].add(_kind(value))
    common = sorted(set(by_op) & set(generated))
    assert len(common) >= 15, common
    problems = []
    for op in common:
        always = set.intersection(*(set(r) for r in by_op[op]))
        union = set.union(*(set(r) for r in by_op[op]))
        for record in generated[op]:
            allowed = union | by_type[op[0]] | DOCUMENTED.get(op[1], set())
            missing, extra = always - set(record), set(record) - allowed
            if missing or extra:
                problems.append(f"{op}: missing {sorted(missing)}, unexpected {sorted(extra)}")
                break
            wrong = [
                f"{key}={_kind(value)} (samples: {sorted(types[(op, key)])})"
                for key, value in record.items()
                if types[(op, key)]
                and _kind(value) not in types[(op, key)]
                and not (key in STRINGLY and _kind(value) == "str")
            ]
            if wrong:
                problems.append(f"{op}: {wrong}")
                break
    assert not problems, "\n".join(problems)


def test_file_operations_keep_the_object_id_invariant(
    generated: dict[Key, list[dict[str, Any]]],
) -> None:
    for op in ("FileAccessed", "FileModified", "FileDownloaded", "FileUploaded", "FileDeleted"):
        for r in generated[(6, op)]:
            assert r["ObjectId"] == f"{r['SiteUrl']}{r['SourceRelativeUrl']}/{r['SourceFileName']}"
            assert r["SourceFileName"].endswith("." + r["SourceFileExtension"])
    for op in ("SharingSet", "AnonymousLinkCreated", "AddedToSecureLink"):
        for r in generated[(14, op)]:
            assert r["ObjectId"] == f"{r['SiteUrl']}/{r['SourceRelativeUrl']}"


def test_exchange_parameters_are_name_value_strings(
    generated: dict[Key, list[dict[str, Any]]],
) -> None:
    ops = ("New-InboxRule", "Set-InboxRule", "Set-Mailbox", "Add-MailboxPermission")
    seen = 0
    for op in ops:
        for r in generated[(1, op)]:
            seen += 1
            assert r["Parameters"] and all(
                set(p) == {"Name", "Value"} and isinstance(p["Value"], str) for p in r["Parameters"]
            )
    assert seen > 0
