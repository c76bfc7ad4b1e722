"""The outbox of alert events, written in the same transaction as the alert change.

Contract:
    * :func:`lock_outbox` is the first thing a transaction that will append events does. On
      PostgreSQL it takes a transaction-scoped advisory lock, so outbox writers commit one
      after another and an event's id is also its commit order: a reader that has seen event
      ``n`` will never later find a committed event below ``n`` (without the lock, a
      transaction holding id 10 could commit after one holding id 11, and a cursor already at
      11 would skip 10 for ever). Taking it before any alert row keeps the lock order the
      same in every writer (no deadlock). SQLite writers are serialized by ``BEGIN
      IMMEDIATE`` already.
    * :func:`append_event` stores one event: its kind, a random ``event_key`` (the
      idempotency key receivers deduplicate on) and the alert as it is in this transaction.
    * :func:`events_after` reads events after a cursor, in id order.

The notify stage (:mod:`opencasb.notify.stage`) reads this table with one cursor per
notifier (:mod:`opencasb.store.deliveries`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Delete, delete, func, insert, select, text

from opencasb.store._db import Database
from opencasb.store.codec import dumps, loads
from opencasb.store.schema import alert_comments, alert_events, alerts, from_micros

__all__ = [
    "EVENT_KINDS",
    "AlertEvent",
    "append_event",
    "event_from_row",
    "events_after",
    "events_by_id",
    "last_event_id",
    "lock_outbox",
    "prune_events",
    "prune_statement",
]

EVENT_KINDS = ("opened", "extended", "closed", "commented")

MAX_SNAPSHOT_EVIDENCE = 500
_LOCK = 0x0C46E  # any constant; names the outbox's advisory lock in pg_locks


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One stored alert event: ``id`` orders events, ``key`` identifies it to receivers,
    ``alert`` is the alert's fields as they were when the event was written (JSON types:
    times are ISO 8601 text) with ``comment`` for a comment or a closing comment."""

    id: int
    key: str
    alert_id: str
    kind: str
    alert: dict[str, Any]
    created_at: datetime


def lock_outbox(conn: Connection) -> None:
    """Serialize outbox writers until this transaction ends (PostgreSQL; see module doc)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return from_micros(int(value)).isoformat()


def _snapshot(
    conn: Connection, alert_id: str, comment: str | None, author: str | None
) -> dict[str, Any]:
    r = conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()
    comments = int(
        conn.execute(
            select(func.count())
            .select_from(alert_comments)
            .where(alert_comments.c.alert_id == alert_id)
        ).scalar()
        or 0
    )
    evidence = [int(i) for i in loads(r.evidence)]
    return {
        "id": r.id,
        "policy_id": r.policy_id,
        "title": r.title,
        "severity": r.severity,
        "category": r.category,
        "tactic": r.tactic,
        "entity": r.entity,
        "explanation": r.explanation,
        # An alert extended pass after pass writes one event each time: its snapshot keeps
        # the first ids and the count, not a list growing with every event.
        "evidence": evidence[:MAX_SNAPSHOT_EVIDENCE],
        "evidence_count": len(evidence),
        "first_time": _iso(r.first_time),
        "last_time": _iso(r.last_time),
        "historical": bool(r.historical),
        "status": r.status,
        "resolution": r.resolution,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "comments": comments,
        "comment": comment,
        "comment_author": author,
    }


def append_event(
    conn: Connection,
    alert_id: str,
    kind: str,
    now: datetime,
    comment: str | None = None,
    author: str | None = None,
) -> None:
    """Append a ``kind`` event of the alert ``alert_id`` (already written in ``conn``'s
    transaction, which must have called :func:`lock_outbox` first)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown alert event kind {kind!r}")
    conn.execute(
        insert(alert_events).values(
            event_key=uuid.uuid4().hex,
            alert_id=alert_id,
            kind=kind,
            alert=dumps(_snapshot(conn, alert_id, comment, author)),
            created_at=now,
        )
    )


def event_from_row(r: Any) -> AlertEvent:
    alert = loads(r.alert)
    return AlertEvent(int(r.id), r.event_key, r.alert_id, r.kind, dict(alert), r.created_at)


def events_after(db: Database, cursor: int, limit: int) -> list[AlertEvent]:
    """At most ``limit`` events with an id above ``cursor``, in id order."""
    stmt = (
        select(alert_events)
        .where(alert_events.c.id > cursor)
        .order_by(alert_events.c.id)
        .limit(limit)
    )
    with db.read() as conn:
        return [event_from_row(r) for r in conn.execute(stmt)]


def events_by_id(db: Database, ids: Sequence[int]) -> dict[int, AlertEvent]:
    """The stored events among ``ids``."""
    out: dict[int, AlertEvent] = {}
    with db.read() as conn:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            for r in conn.execute(select(alert_events).where(alert_events.c.id.in_(chunk))):
                out[int(r.id)] = event_from_row(r)
    return out


def prune_events(db: Database, before: datetime) -> int:
    """Delete events written before ``before`` that no notifier needs any more: every
    notifier's cursor is past them and no delivery (pending or dead) refers to them.
    Returns how many."""
    from opencasb.store.schema import notifiers

    with db.write() as conn:
        lowest = conn.execute(select(func.min(notifiers.c.cursor))).scalar()
        stmt = prune_statement(before, None if lowest is None else int(lowest))
        return int(conn.execute(stmt).rowcount)


def prune_statement(before: datetime, lowest: int | None) -> Delete:
    """The delete of :func:`prune_events`: events before ``before``, at or below the lowest
    notifier cursor ``lowest`` (None: no notifier), that no delivery refers to. It reads
    ``alert_events`` by its ``created_at`` index (the events kept are not scanned)."""
    from opencasb.store.schema import deliveries

    stmt = delete(alert_events).where(
        alert_events.c.created_at < before,
        ~select(deliveries.c.id).where(deliveries.c.event_id == alert_events.c.id).exists(),
    )
    return stmt if lowest is None else stmt.where(alert_events.c.id <= lowest)


def last_event_id(db: Database) -> int:
    """The newest event's id (0 when there is none): a new notifier's starting cursor."""
    with db.read() as conn:
        return int(conn.execute(select(func.max(alert_events.c.id))).scalar() or 0)
