"""The delivery queue of each notifier: pending events with their retries, and dead letters.

Contract:
    * :func:`enqueue` moves a notifier's cursor over the outbox and queues the events it
      accepts, in ONE transaction: the cursor never passes an event that was not queued,
      and a pass committed twice queues nothing twice (the cursor update is conditional on
      the cursor the pass started from).
    * :func:`head` is the notifier's next delivery: its oldest pending event. Events go out
      in event order; a later one waits while the head is retried.
    * :func:`record_success` deletes the delivery and counts it; :func:`record_failure`
      counts the attempt and schedules the next one, or makes the delivery a dead letter.
      Both commit only while ``holder`` holds the notifier's lease (else they return False
      and change nothing), and extend it.
    * A dead letter keeps the event and the last error until :func:`retry_dead` queues it
      again (attempts start over); it is then the head again, as it is older than the
      events that followed it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, func, insert, select, update

from opencasb.store._db import Database
from opencasb.store.codec import loads
from opencasb.store.outbox import AlertEvent, event_from_row
from opencasb.store.schema import alert_events, deliveries, notifiers

__all__ = [
    "Delivery",
    "dead_letters",
    "enqueue",
    "head",
    "queue_counts",
    "record_failure",
    "record_success",
    "retry_dead",
]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one notifier (``state`` pending or dead)."""

    id: int
    notifier_id: int
    notifier: str
    event: AlertEvent
    state: str
    attempts: int
    first_attempt_at: datetime | None
    next_attempt_at: datetime
    last_error: str | None


def enqueue(
    db: Database,
    notifier_id: int,
    cursor: int,
    now: datetime,
    *,
    accept: Callable[[AlertEvent], bool],
    limit: int = 500,
) -> tuple[int, int] | None:
    """Queue the (at most ``limit``) events after ``cursor`` that ``accept`` takes and move
    the notifier's cursor past all of them. Returns (the new cursor, events queued), or None
    when the stored cursor is no longer ``cursor`` (another process moved it; nothing is
    written)."""
    with db.write() as conn:
        rows = conn.execute(
            select(alert_events)
            .where(alert_events.c.id > cursor)
            .order_by(alert_events.c.id)
            .limit(limit)
        ).all()
        if not rows:
            return cursor, 0
        moved = conn.execute(
            update(notifiers)
            .where(notifiers.c.id == notifier_id, notifiers.c.cursor == cursor)
            .values(cursor=int(rows[-1].id))
        ).rowcount
        if not moved:
            return None
        events = [event_from_row(r) for r in rows]
        taken = [e for e in events if accept(e)]
        if taken:
            conn.execute(
                insert(deliveries),
                [
                    {
                        "notifier_id": notifier_id,
                        "event_id": e.id,
                        "state": "pending",
                        "attempts": 0,
                        "first_attempt_at": None,
                        "next_attempt_at": now,
                        "last_error": None,
                        "updated_at": now,
                    }
                    for e in taken
                ],
            )
    return int(rows[-1].id), len(taken)


def _select() -> Select[Any]:
    return (
        select(deliveries, alert_events, notifiers.c.name.label("notifier"))
        .join(alert_events, alert_events.c.id == deliveries.c.event_id)
        .join(notifiers, notifiers.c.id == deliveries.c.notifier_id)
    )


def _delivery(r: Row[Any]) -> Delivery:
    row = r._mapping
    event = AlertEvent(
        id=int(row[alert_events.c.id]),
        key=row[alert_events.c.event_key],
        alert_id=row[alert_events.c.alert_id],
        kind=row[alert_events.c.kind],
        alert=dict(_loads(row[alert_events.c.alert])),
        created_at=row[alert_events.c.created_at],
    )
    return Delivery(
        id=int(row[deliveries.c.id]),
        notifier_id=int(row[deliveries.c.notifier_id]),
        notifier=row["notifier"],
        event=event,
        state=row[deliveries.c.state],
        attempts=int(row[deliveries.c.attempts]),
        first_attempt_at=row[deliveries.c.first_attempt_at],
        next_attempt_at=row[deliveries.c.next_attempt_at],
        last_error=row[deliveries.c.last_error],
    )


def _loads(text: str) -> dict[str, Any]:
    value = loads(text)
    return value if isinstance(value, dict) else {}


def head(db: Database, notifier_id: int) -> Delivery | None:
    """The notifier's oldest pending delivery (due or not), or None."""
    stmt = (
        _select()
        .where(deliveries.c.notifier_id == notifier_id, deliveries.c.state == "pending")
        .order_by(deliveries.c.event_id)
        .limit(1)
    )
    with db.read() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else _delivery(row)


def _hold(
    conn: Connection,
    notifier_id: int,
    holder: str,
    now: datetime,
    until: datetime,
    **values: object,
) -> bool:
    return bool(
        conn.execute(
            update(notifiers)
            .where(
                notifiers.c.id == notifier_id,
                notifiers.c.lease_holder == holder,
                notifiers.c.lease_until >= now,
            )
            .values(lease_until=until, **values)
        ).rowcount
    )


def record_success(
    db: Database, d: Delivery, holder: str, now: datetime, lease_until: datetime
) -> bool:
    """The receiver accepted ``d``: delete it and count it (see module contract)."""
    with db.write() as conn:
        if not _hold(
            conn,
            d.notifier_id,
            holder,
            now,
            lease_until,
            delivered=notifiers.c.delivered + 1,
            last_success_at=now,
            last_error=None,
        ):
            return False
        conn.execute(delete(deliveries).where(deliveries.c.id == d.id))
    return True


def record_failure(
    db: Database,
    d: Delivery,
    holder: str,
    now: datetime,
    lease_until: datetime,
    *,
    error: str,
    next_attempt_at: datetime,
    dead: bool,
) -> bool:
    """An attempt at ``d`` failed with ``error``: count it and schedule the next one at
    ``next_attempt_at``, or make ``d`` a dead letter (see module contract)."""
    with db.write() as conn:
        if not _hold(conn, d.notifier_id, holder, now, lease_until, last_error=error):
            return False
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == d.id)
            .values(
                state="dead" if dead else "pending",
                attempts=deliveries.c.attempts + 1,
                first_attempt_at=d.first_attempt_at or now,
                next_attempt_at=next_attempt_at,
                last_error=error,
                updated_at=now,
            )
        )
    return True


def dead_letters(db: Database, notifier_id: int | None = None) -> list[Delivery]:
    """Dead letters, oldest event first, of one notifier or all."""
    stmt = _select().where(deliveries.c.state == "dead")
    if notifier_id is not None:
        stmt = stmt.where(deliveries.c.notifier_id == notifier_id)
    with db.read() as conn:
        return [_delivery(r) for r in conn.execute(stmt.order_by(deliveries.c.event_id))]


def retry_dead(
    db: Database, now: datetime, *, ids: Sequence[int] = (), notifier_id: int | None = None
) -> int:
    """Queue dead letters again, due now with no attempts: those of ``ids``, else every one
    (of ``notifier_id`` when given). Returns how many."""
    stmt = update(deliveries).where(deliveries.c.state == "dead")
    if ids:
        stmt = stmt.where(deliveries.c.id.in_(list(ids)))
    if notifier_id is not None:
        stmt = stmt.where(deliveries.c.notifier_id == notifier_id)
    with db.write() as conn:
        return int(
            conn.execute(
                stmt.values(
                    state="pending",
                    attempts=0,
                    first_attempt_at=None,
                    next_attempt_at=now,
                    updated_at=now,
                )
            ).rowcount
        )


def queue_counts(db: Database) -> dict[int, dict[str, int]]:
    """notifier id -> {"pending": n, "dead": n}."""
    stmt = select(deliveries.c.notifier_id, deliveries.c.state, func.count()).group_by(
        deliveries.c.notifier_id, deliveries.c.state
    )
    out: dict[int, dict[str, int]] = {}
    with db.read() as conn:
        for nid, state, n in conn.execute(stmt):
            out.setdefault(int(nid), {"pending": 0, "dead": 0})[str(state)] = int(n)
    return out
