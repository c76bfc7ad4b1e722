"""Export: CSV (flat, formula-safe) and JSON Lines (lossless), streamed in batches."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from opencasb.model.activity import Target
from opencasb.store import ActivityQuery, Store
from opencasb.store import query as query_module
from opencasb.store.export import CSV_COLUMNS, csv_row

from .conftest import save_page


@pytest.fixture
def filled(store: Store, act: Any) -> Store:
    iid = store.add_instance("okta", "acme", {}, {}).id
    batch = [act(i) for i in range(30)]
    batch[3] = act(
        3,
        user_agent='=HYPERLINK("http://evil")',
        targets=(Target(id="1", name="App One"), Target(id="2", alternate_id="two@example.com")),
    )
    save_page(store, iid, "logs", batch, {})
    return store


def test_iter_streams_every_row_in_batches(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = query_module.query_activities

    def spy(db: Any, q: ActivityQuery) -> Any:
        calls.append(q.limit)
        return real(db, q)

    monkeypatch.setattr("opencasb.store.export.query_activities", spy)
    got = list(filled.iter_activities(ActivityQuery(limit=1), batch_size=7))
    assert len(got) == 30 and len({a.source_event_id for a in got}) == 30
    assert calls == [7] * 5


def test_iter_honours_filters(filled: Store) -> None:
    got = list(filled.iter_activities(ActivityQuery(user="user1@example.com")))
    assert {a.actor.email for a in got} == {"user1@example.com"}
    assert len(got) == len([i for i in range(30) if i % 7 == 1])


def test_csv(filled: Store) -> None:
    buf = io.StringIO(newline="")
    assert filled.write_csv(ActivityQuery(), buf) == 30
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 30 and tuple(rows[0]) == CSV_COLUMNS
    by_id = {r["source_event_id"]: r for r in rows}
    r3 = by_id["evt-000003"]
    assert r3["user_agent"].startswith("'=")  # neutralized formula
    assert r3["targets"] == "App One; two@example.com"
    assert r3["time"] == "2026-11-01T12:00:03+00:00"
    assert r3["instance"] == "acme" and r3["country_code"] == "US"
    assert by_id["evt-000000"]["lon"] == "-122.41"  # numbers are not "neutralized"


def test_jsonl(filled: Store, act: Any) -> None:
    buf = io.StringIO()
    assert filled.write_jsonl(ActivityQuery(), buf) == 30
    lines = buf.getvalue().splitlines()
    assert len(lines) == 30
    first = json.loads(lines[-1])
    assert first["source_event_id"] == "evt-000000"
    assert first["raw"] == act(0).raw
    assert first["actor"]["email"] == "user0@example.com"
    assert first["details"] == dict(act(0).details)
    assert first["instance"] == "acme"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=x", "'\r'=x"),
        # Full-width, small and other variants spreadsheets fold to ASCII.
        ("\uff1dcmd|' /C calc'!A0", "'\uff1dcmd|' /C calc'!A0"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff20x", "'\uff20x"),
        ("\ufe66x", "'\ufe66x"),
        ("\u2212x", "'\u2212x"),
        # After blanks.
        ("  =1+1", "'  =1+1"),
        ("\u3000\uff1d1", "'\u3000\uff1d1"),
        # After a separator another locale splits on.
        ("login;=cmd()", "login;'=cmd()"),
        ("a, \uff1d1", "a, '\uff1d1"),
        ("a|@x", "a|'@x"),
        ("line\n=2", "line\n'=2"),
        # Harmless text is kept exactly.
        ("a=b; c+d", "a=b; c+d"),
        ("User login to Okta", "User login to Okta"),
        ("", ""),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(act: Any, text: str, cell: str) -> None:
    row = csv_row(act(1, description=text))
    assert row[CSV_COLUMNS.index("description")] == cell


def test_json_lines_keep_formula_text_exactly(store: Store, act: Any) -> None:
    rec = store.add_instance("okta", "o", {}, {"t": "x"})
    save_page(store, rec.id, "log", [act(1, description="\uff1d1;=2")], {})
    buf = io.StringIO()
    store.write_jsonl(ActivityQuery(), buf)
    assert json.loads(buf.getvalue())["description"] == "\uff1d1;=2"
