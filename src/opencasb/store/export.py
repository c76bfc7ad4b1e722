"""Streaming export of query results as CSV (flat, for spreadsheets) or JSON Lines (lossless).

Exports walk the keyset order one batch at a time, each batch its own short read, so memory
stays flat however many rows match and no long read transaction blocks SQLite checkpoints.
An export starts at ``query.after`` (or the newest row) and ignores ``query.limit``, which
would only cap the first page.

CSV cells that a spreadsheet would run as a formula get a leading apostrophe: audit data
carries attacker-chosen text (user agents, file names), and "CSV injection" is a classic way
to turn an export into code execution. A formula starts with ``= + - @`` (or a tab or line
break), possibly after blanks, in ASCII or as a full-width, small or super/subscript variant
(``＝``: spreadsheets fold them to ASCII). Inside a cell, a separator another locale splits
on (``;``, ``,``, ``|``, tab, line break) followed by a formula start gets an apostrophe after
it too, so ``a;=cmd()`` cannot become a cell ``=cmd()`` in a spreadsheet that splits on ``;``.
Only CSV is changed this way; JSON Lines keep the exact data.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any, TextIO

from opencasb.model.activity import Activity
from opencasb.store._db import Database
from opencasb.store.codec import dumps, loads
from opencasb.store.query import ActivityQuery, query_activities

__all__ = ["CSV_COLUMNS", "activity_to_dict", "iter_activities", "write_csv", "write_jsonl"]

CSV_COLUMNS: tuple[str, ...] = (
    "time",
    "instance",
    "app",
    "source_event_id",
    "activity_type",
    "category",
    "action",
    "outcome",
    "outcome_detail",
    "outcome_reason",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_type",
    "targets",
    "src_ip",
    "country",
    "country_code",
    "region",
    "city",
    "lat",
    "lon",
    "asn",
    "isp",
    "user_agent",
    "device",
    "severity",
    "description",
)


def _formula_starters() -> str:
    """``= + - @`` and every character Unicode folds to one of them (full-width ``＝``,
    small ``﹦``, super- and subscript ``⁼``), plus the minus sign."""
    blocks = (range(0x2070, 0x20A0), range(0xFE50, 0xFE70), range(0xFF00, 0xFF60))
    variants = [
        chr(c) for block in blocks for c in block if unicodedata.normalize("NFKC", chr(c)) in "=+-@"
    ]
    return "=+\\-@\u2212" + "".join(variants)


_STARTER = f"[{_formula_starters()}]"
_BLANK = "[ \u00a0\u3000]*"
_LEADING_FORMULA = re.compile(f"^(?:[\t\r\n]|{_BLANK}{_STARTER})")
_INNER_FORMULA = re.compile(f"([;,|\t\r\n]{_BLANK})(?={_STARTER})")


def iter_activities(
    db: Database, q: ActivityQuery, *, batch_size: int = 1000
) -> Iterator[Activity]:
    """Every activity matching ``q``, newest first, fetched ``batch_size`` at a time."""
    page_q = dataclasses.replace(q, limit=batch_size)
    while True:
        page = query_activities(db, page_q)
        yield from page.items
        if page.next_after is None:
            return
        page_q = dataclasses.replace(page_q, after=page.next_after)


def _cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula (see the module's docstring)."""
    if not isinstance(value, str):
        return value
    value = _INNER_FORMULA.sub(r"\1'", value)
    return "'" + value if _LEADING_FORMULA.match(value) else value


def _target_text(a: Activity) -> str:
    return "; ".join(t.alternate_id or t.name or t.id or "" for t in a.targets)


def csv_row(a: Activity) -> list[Any]:
    """The CSV cells of one activity, in :data:`CSV_COLUMNS` order."""
    g = a.geo
    values: list[Any] = [
        a.time.isoformat(),
        a.instance,
        a.app,
        a.source_event_id,
        a.activity_type,
        a.category.value,
        a.action,
        a.outcome.value,
        a.outcome_detail,
        a.outcome_reason,
        a.actor.id,
        a.actor.name,
        a.actor.email,
        a.actor.type,
        _target_text(a),
        a.src_ip,
        g.country if g else None,
        g.country_code if g else None,
        g.region if g else None,
        g.city if g else None,
        g.lat if g else None,
        g.lon if g else None,
        a.asn,
        a.isp,
        a.user_agent,
        a.device,
        a.severity,
        a.description,
    ]
    return ["" if v is None else _cell(v) for v in values]


def write_csv(db: Database, q: ActivityQuery, fp: TextIO, *, max_rows: int | None = None) -> int:
    """Write a header and one row per matching activity to ``fp``; returns the row count.

    ``q.limit`` is the page size of a query, not of an export: only ``max_rows`` caps it.

    ``fp`` should be opened with ``newline=""`` (the csv module writes ``\\r\\n``).
    """
    writer = csv.writer(fp)
    writer.writerow(CSV_COLUMNS)
    n = 0
    for a in itertools.islice(iter_activities(db, q), max_rows):
        writer.writerow(csv_row(a))
        n += 1
    return n


def activity_to_dict(a: Activity) -> dict[str, Any]:
    """A JSON-ready dict of every field of ``a``, including ``raw`` and ``details``."""
    value = loads(dumps(a))
    assert isinstance(value, dict)
    return value


def write_jsonl(db: Database, q: ActivityQuery, fp: TextIO, *, max_rows: int | None = None) -> int:
    """Write one JSON object per matching activity (all fields, raw included); returns the count.

    Only ``max_rows`` caps the export (see :func:`write_csv`).
    """
    n = 0
    for a in itertools.islice(iter_activities(db, q), max_rows):
        fp.write(dumps(a))
        fp.write("\n")
        n += 1
    return n
