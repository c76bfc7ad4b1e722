"""Enriching stored activities again, in batches: what ``opencasb enrich --all`` runs.

Contract of :func:`enrich_batch`:
    * It reads the next ``batch`` activities by id after the cursor of its ``stage_state``
      row (``enrich.all``), enriches each with the given enricher and, in ONE transaction,
      updates the rows whose stored enrichment differs and moves the cursor past the batch.
      A crash (even SIGKILL) loses at most the batch in flight; the next run resumes at the
      committed cursor. Only the enrichment columns are written: the activity itself is
      never touched, so an interruption cannot lose or damage one.
    * The row also keeps the enricher's fingerprint (version, MaxMind files, IP ranges):
      a run with another fingerprint (the ranges were edited, a MaxMind file replaced,
      :data:`~opencasb.enrich.ENRICHMENT_VERSION` bumped) starts over from the first id.
      A run with the same fingerprint after the last id has nothing to do, so rerunning is
      idempotent; rows stored after a completed run were enriched at ingest.
    * New enrichments are interned first (:func:`~opencasb.store.enrichment.resolve_enrichments`,
      their own transaction; an unused ``enrichments`` row is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import BigInteger, bindparam, func, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opencasb.enrich.enricher import Enricher
from opencasb.store._db import Database
from opencasb.store.codec import ACTIVITY_READ_COLUMNS, activity_from_row
from opencasb.store.enrich_codec import enrichment_key, tags_text
from opencasb.store.enrichment import resolve_enrichments
from opencasb.store.instances import instance_names
from opencasb.store.schema import activities, stage_state

__all__ = ["ENRICH_STAGE", "EnrichProgress", "enrich_batch", "enrich_progress"]

ENRICH_STAGE = "enrich.all"
"""The ``stage_state`` row of ``opencasb enrich --all``."""


@dataclass(frozen=True, slots=True)
class EnrichProgress:
    """Where a re-enrichment stands: the last id done, the activities after it (``left``),
    whether the stored fingerprint is this enricher's (else the next batch starts over),
    and what the last batch did (``read`` rows, ``changed`` of them)."""

    cursor: int
    left: int
    current: bool
    read: int = 0
    changed: int = 0


def _stage(db: Database) -> tuple[int, str | None]:
    with db.read() as conn:
        row = conn.execute(
            select(stage_state.c.cursor, stage_state.c.state).where(
                stage_state.c.stage == ENRICH_STAGE
            )
        ).first()
    if row is None:
        return 0, None
    try:
        fingerprint = orjson.loads(row.state).get("fingerprint")
    except (orjson.JSONDecodeError, AttributeError):
        fingerprint = None  # a damaged row: start over (idempotent, so nothing is lost)
    return int(row.cursor), fingerprint if isinstance(fingerprint, str) else None


def _left(db: Database, cursor: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(activities).where(activities.c.id > cursor)
            ).scalar_one()
        )


def enrich_progress(db: Database, enricher: Enricher) -> EnrichProgress:
    """Where a re-enrichment with ``enricher`` would resume."""
    cursor, fingerprint = _stage(db)
    current = fingerprint == enricher.fingerprint()
    start = cursor if current else 0
    return EnrichProgress(start, _left(db, start), current)


# activity_from_row reads the time as the stored integer (not UtcMicros's datetime)
_COLS: list[Any] = [
    type_coerce(activities.c.time, BigInteger).label("time") if c == "time" else activities.c[c]
    for c in ACTIVITY_READ_COLUMNS
]
_WRITE = (
    update(activities)
    .where(activities.c.id == bindparam("row_id"))
    .values(enrich_ref=bindparam("ref"), enrich_cc=bindparam("cc"), ip_tags=bindparam("tags"))
)


def enrich_batch(db: Database, enricher: Enricher, batch: int = 5000) -> EnrichProgress:
    """Enrich the next ``batch`` stored activities again (see the module contract).

    Raises:
        StoreError: the database failed, or a row cannot be decoded (named in the message;
            nothing of the batch is written then).
    """
    fingerprint = enricher.fingerprint()
    cursor, stored = _stage(db)
    if stored != fingerprint:
        cursor = 0
    names = instance_names(db)
    with db.read() as conn:
        rows = conn.execute(
            select(*_COLS, activities.c.enrich_ref, activities.c.enrich_cc, activities.c.ip_tags)
            .where(activities.c.id > cursor)
            .order_by(activities.c.id)
            .limit(batch)
        ).all()
    n = len(ACTIVITY_READ_COLUMNS)
    computed: list[tuple[int, str, str | None, str | None, tuple[Any, ...]]] = []
    for row in rows:
        e = enricher.enrich(activity_from_row(row[:n], names))
        key = enrichment_key(replace(e, ip_tags=()) if e.ip_tags else e)
        computed.append((int(row.id), key, e.country_code, tags_text(e.ip_tags), tuple(row[n:])))
    refs = resolve_enrichments(db, [k for _, k, _, _, _ in computed])
    changes = [
        {"row_id": i, "ref": refs[k], "cc": cc, "tags": tags}
        for i, k, cc, tags, old in computed
        if old != (refs[k], cc, tags)
    ]
    after = int(rows[-1].id) if rows else cursor
    state = orjson.dumps({"fingerprint": fingerprint}).decode()
    with db.write() as conn:
        if changes:
            conn.execute(_WRITE, changes)
        values = {
            "stage": ENRICH_STAGE,
            "cursor": after,
            "state": state,
            "updated_at": db.clock.now(),
        }
        insert = (sqlite_insert if db.is_sqlite else pg_insert)(stage_state).values(values)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["stage"],
                set_={"cursor": after, "state": state, "updated_at": values["updated_at"]},
            )
        )
    return EnrichProgress(after, _left(db, after), True, len(rows), len(changes))
