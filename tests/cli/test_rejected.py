"""`opencasb rejected`: list, show (escaped for the terminal), retry."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli, assert_clean, flat, table_rows

GOOD = {
    "uuid": "u-1",
    "published": "2024-05-01T10:11:12.345Z",
    "eventType": "user.session.start",
    "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
}
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\u202e"


def _import_bad(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "siem.jsonl"
    bad_time = {**GOOD, "uuid": "u-2", "published": f"yesterday{HOSTILE}"}
    path.write_text(json.dumps(GOOD) + "\n" + "{cut short" + "\n" + json.dumps(bad_time) + "\n")
    result = cli.ok("import", "okta", str(path))
    assert "1 new, 0 already present, 2 quarantined" in flat(result.stdout)
    assert "opencasb rejected --instance okta" in flat(result.stdout)
    return path


def test_list_show_and_json(cli: Cli, tmp_path: Path) -> None:
    path = _import_bad(cli, tmp_path)
    cli.ok("import", "okta", str(path))  # again: no second copy of the quarantine
    listed = cli.ok("rejected")
    assert "\x1b" not in listed.stdout
    rows = table_rows(listed.stdout)
    assert rows[0] == ["id", "instance", "feed", "reason", "received"]
    assert len(rows) == 3
    assert all(r[1] == "okta" and r[2] == "import:siem.jsonl" for r in rows[1:])
    reasons = " ".join(r[3] for r in rows[1:])
    assert "not valid JSON" in reasons and "\\x1b]0;pwned" in reasons

    lines = cli.ok("rejected", "--format", "json").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["feed"] for r in records} == {"import:siem.jsonl"}
    hostile = next(r for r in records if "u-2" in r["raw"])
    assert HOSTILE in json.loads(hostile["raw"])["published"]  # exact in the export

    shown = cli.ok("rejected", "show", str(hostile["id"]))
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    out = flat(shown.stdout)
    assert f"rejected record #{hostile['id']}" in out and "feed: import:siem.jsonl" in out
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202e" in out and '"uuid": "u-2"' in out

    missing = cli("rejected", "show", "999999")
    assert_clean(missing)
    assert missing.exit_code == 1 and "no rejected record #999999" in flat(missing.stderr)
    assert "okta" in flat(cli.ok("rejected", "--instance", "okta").stdout)
    unknown = cli("rejected", "--instance", "nope")
    assert unknown.exit_code == 1 and "no app instance named 'nope'" in flat(unknown.stderr)


def test_retry_after_the_record_is_fixed(cli: Cli, tmp_path: Path) -> None:
    _import_bad(cli, tmp_path)
    result = cli.ok("rejected", "retry")
    assert "retried 2: 0 now pass (0 new, 0 already present), 2 still rejected" in flat(
        result.stdout
    )
    # "A fix": the bad time is repaired in place (as a new normalizer would accept it).
    store = cli.open_store()
    try:
        from sqlalchemy import text

        rec = next(r for r in store.list_rejected() if "u-2" in r.raw)
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE rejected_records SET raw = :raw WHERE id = :id"),
                {"raw": json.dumps({**GOOD, "uuid": "u-2"}), "id": rec.id},
            )
    finally:
        store.close()
    result = cli.ok("rejected", "retry", str(rec.id), "--instance", "okta")
    assert "retried 1: 1 now pass (1 new, 0 already present), 0 still rejected" in flat(
        result.stdout
    )
    ids = {a["source_event_id"] for a in cli.jsonl()}
    assert ids == {"u-1", "u-2"}
    assert len(table_rows(cli.ok("rejected").stdout)) == 2  # header + the cut-short line
    row = next(line for line in cli.ok("apps").stdout.splitlines() if "okta" in line)
    assert " 2 " in row  # events stored, from the committed rows
