"""The quarantine (``rejected_records``): records that could not be normalized, kept with the
reason, listed, shown and retried.

Contract:
    * :func:`list_rejected` returns quarantined records newest first (received time, then
      id), optionally of one instance and feed, ``limit`` at most, with the id to continue
      after; :func:`get_rejected` one by id (NotFound).
    * Activities recovered from quarantined records are stored, and those records deleted,
      in ONE transaction (a :class:`~opencasb.store.PageWrite` with ``resolved`` ids), so a
      record is never both quarantined and stored, nor lost between the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from opencasb.errors import NotFound
from opencasb.store._db import Database
from opencasb.store.instances import instance_names
from opencasb.store.schema import rejected_records

__all__ = ["RejectedRecord", "get_rejected", "list_rejected"]


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """One quarantined record: where it came from, why, when, and the record as kept."""

    id: int
    instance_id: int
    instance: str
    feed: str
    error: str
    received_at: datetime
    raw: str


_COLUMNS = (
    rejected_records.c.id,
    rejected_records.c.instance_id,
    rejected_records.c.feed,
    rejected_records.c.error,
    rejected_records.c.received_at,
    rejected_records.c.raw,
)


def list_rejected(
    db: Database,
    *,
    instance_id: int | None = None,
    feed: str | None = None,
    ids: Sequence[int] = (),
    limit: int | None = 50,
    before: tuple[datetime, int] | None = None,
) -> list[RejectedRecord]:
    """Quarantined records, newest first; ``before`` = (received_at, id) of the last one
    seen, to continue after it; ``ids`` keeps only those."""
    stmt = select(*_COLUMNS).order_by(
        rejected_records.c.received_at.desc(), rejected_records.c.id.desc()
    )
    if instance_id is not None:
        stmt = stmt.where(rejected_records.c.instance_id == instance_id)
    if feed is not None:
        stmt = stmt.where(rejected_records.c.feed == feed)
    if ids:
        stmt = stmt.where(rejected_records.c.id.in_(list(ids)))
    if before is not None:
        at, last = before
        stmt = stmt.where(
            or_(
                rejected_records.c.received_at < at,
                and_(rejected_records.c.received_at == at, rejected_records.c.id < last),
            )
        )
    if limit is not None:
        stmt = stmt.limit(limit)
    names = instance_names(db)
    with db.read() as conn:
        rows = conn.execute(stmt).all()
    return [
        RejectedRecord(
            id=int(r.id),
            instance_id=r.instance_id,
            instance=names.get(r.instance_id, f"#{r.instance_id}"),
            feed=r.feed,
            error=r.error,
            received_at=r.received_at,
            raw=r.raw,
        )
        for r in rows
    ]


def get_rejected(db: Database, record_id: int) -> RejectedRecord:
    """The quarantined record ``record_id``; NotFound when there is none."""
    found = list_rejected(db, ids=[record_id], limit=1)
    if not found:
        raise NotFound(
            f"no rejected record #{record_id}",
            fix="List the rejected records with `opencasb rejected` and use one of their ids.",
            code="rejected_not_found",
        )
    return found[0]
