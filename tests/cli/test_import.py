"""`opencasb import okta FILE`: JSON lines or a JSON array, idempotent, bad lines quarantined."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencasb.apps.okta.normalize import normalize
from opencasb.ingest.runner import normalize_all

from .conftest import Cli, assert_clean, flat

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "okta"


@pytest.fixture(scope="module")
def events(reader: Cli) -> list[dict[str, Any]]:
    return list(reader.served.sandbox.state.events())


def _jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _counts(cli: Cli, instance: str) -> tuple[int, int, set[str]]:
    store = cli.open_store()
    try:
        rec = store.get_instance(instance)
        assert not rec.enabled  # an import-only instance never polls
        return (
            store.count_activities(rec.id),
            store.count_rejected(rec.id),
            store.activity_ids(rec.id),
        )
    finally:
        store.close()


def test_json_lines_then_same_file_again(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    path = _jsonl(tmp_path / "export.jsonl", events)
    n = len(events)
    first = cli.ok("import", "okta", str(path))
    assert f"imported {path}: {n:,} new, 0 already present, 0 quarantined" in flat(first.stdout)
    count, rejected, ids = _counts(cli, "okta")
    assert (count, rejected) == (n, 0)
    assert ids == {e["uuid"] for e in events}

    again = cli.ok("import", "okta", str(path))
    assert f"0 new, {n:,} already present, 0 quarantined" in flat(again.stdout)
    assert _counts(cli, "okta")[:2] == (n, 0)


def test_json_array_into_a_named_instance(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(events, indent=2))
    result = cli.ok("import", "okta", str(path), "--instance", "history")
    assert f"{len(events):,} new, 0 already present" in flat(result.stdout)
    count, _, ids = _counts(cli, "history")
    assert count == len(events) and ids == {e["uuid"] for e in events}
    listed = {r["source_event_id"] for r in cli.jsonl("--instance", "history")}
    assert listed == ids


def test_array_then_lines_of_the_same_events_adds_nothing(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    (tmp_path / "a.json").write_text(json.dumps(events[:100]))
    cli.ok("import", "okta", str(tmp_path / "a.json"))
    again = cli.ok("import", "okta", str(_jsonl(tmp_path / "b.jsonl", events[:150])))
    assert "50 new, 100 already present" in flat(again.stdout)


def test_a_malformed_line_is_quarantined_and_the_rest_imported(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    good = events[:30]
    lines = [json.dumps(e) for e in good]
    lines.insert(10, '{"uuid": "broken", "published": ')
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = cli.ok("import", "okta", str(path))
    assert "30 new, 0 already present, 1 quarantined" in flat(result.stdout)
    assert _counts(cli, "okta")[:2] == (30, 1)


def test_records_that_do_not_normalize_are_quarantined(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    path = _jsonl(tmp_path / "mixed.jsonl", [events[0], {"no": "uuid"}, [1, 2], events[1]])
    result = cli.ok("import", "okta", str(path))
    assert "2 new, 0 already present, 2 quarantined" in flat(result.stdout)


def test_empty_file_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    result = cli.ok("import", "okta", str(path))
    assert "0 new, 0 already present, 0 quarantined" in flat(result.stdout)


@pytest.mark.parametrize("name", ["missing.jsonl", "a-directory"])
def test_missing_file_is_a_clear_error(cli: Cli, tmp_path: Path, name: str) -> None:
    (tmp_path / "a-directory").mkdir()
    path = tmp_path / name
    result = cli("import", "okta", str(path))
    assert_clean(result)
    assert result.exit_code == 1
    assert (
        flat(result.stderr) == f"error: no such file: {path} fix: give the path of the export file"
    )


def test_into_a_connected_instance_keeps_it_polling(synced: Cli, tmp_path: Path) -> None:
    store = synced.open_store()
    try:
        before = store.count_activities()
    finally:
        store.close()
    events = list(synced.served.sandbox.state.events())
    result = synced.ok("import", "okta", str(_jsonl(tmp_path / "x.jsonl", events)))
    n = len(events)
    assert f"0 new, {n:,} already present ({n:,} of them from the API" in flat(result.stdout)
    store = synced.open_store()
    try:
        assert store.count_activities() == before
        assert store.get_instance("okta").enabled
    finally:
        store.close()


def test_an_import_only_instance_shows_what_it_holds_and_has_nothing_to_test(
    cli: Cli, tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    path = _jsonl(tmp_path / "x.jsonl", [*events[:40], {"no": "uuid"}])
    cli.ok("import", "okta", str(path))
    cli.ok("import", "okta", str(path))  # adds duplicates, not events nor quarantine rows
    store = cli.open_store()
    try:
        health = store.get_instance("okta").health
    finally:
        store.close()
    assert health.state.value == "disabled"  # not "connecting": it never polls
    assert (health.events_stored, health.duplicates_dropped, health.rejected) == (40, 40, 1)
    assert health.newest_event == max(a.time for a in normalize_all(normalize, events[:40])[0])
    row = next(line for line in cli.ok("apps").stdout.splitlines() if "okta" in line)
    assert "disabled" in row and " 40 " in row

    tested = cli("test", "okta")
    assert_clean(tested)
    assert tested.exit_code == 1
    err = flat(tested.stderr)
    assert "okta holds imported history only: it has no credentials to connect with" in err
    assert "connect it under another name (`opencasb connect okta --name ...`)" in err


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no Okta samples under {SAMPLES}")
def test_third_party_samples(cli: Cli, tmp_path: Path) -> None:
    lines = [
        line
        for path in sorted(SAMPLES.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    assert lines
    records = [json.loads(line) for line in lines]
    acts, rejected = normalize_all(normalize, records)
    distinct = len({a.source_event_id for a in acts})
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = cli.ok("import", "okta", str(path))
    out = flat(result.stdout)
    assert f"{distinct:,} new, {len(acts) - distinct:,} already present" in out
    assert f"{len(rejected):,} quarantined" in out
    assert _counts(cli, "okta")[:2] == (distinct, len(rejected))
    again = cli.ok("import", "okta", str(path))
    assert f"0 new, {len(acts):,} already present" in flat(again.stdout)
