"""Retention: delete activities older than a cutoff, a batch at a time.

Each batch is its own short write transaction (the oldest ``batch_size`` rows, found through
the ``(time, id)`` index), so ingest waits at most one batch for the write lock, never for
the whole prune, on SQLite as on PostgreSQL. A prune interrupted between batches has
committed what it deleted and simply continues next time.

Interned actors (``actors``) are kept: an actor row is small, activities newer than the
cutoff may still name it, and the ingest cache holds their ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, delete, select, type_coerce

from opencasb.errors import ConfigError
from opencasb.store._db import Database
from opencasb.store.schema import activities, to_micros

__all__ = ["DEFAULT_BATCH", "prune_activities", "prune_older_than"]

DEFAULT_BATCH = 5000


def prune_activities(db: Database, before: datetime, *, batch_size: int = DEFAULT_BATCH) -> int:
    """Delete every activity whose time is before ``before``; returns how many.

    Raises:
        ConfigError: ``batch_size`` below 1 or a naive ``before``.
        StoreError: the database failed (batches already committed stay deleted).
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    try:
        cutoff = to_micros(before)
    except TypeError as exc:
        raise ConfigError("the retention cutoff must include a time zone") from exc
    a = activities.c
    oldest = (
        select(a.id)
        .where(type_coerce(a.time, BigInteger) < cutoff)
        .order_by(a.time, a.id)
        .limit(batch_size)
        .scalar_subquery()
    )
    stmt = delete(activities).where(a.id.in_(oldest))
    total = 0
    while True:
        with db.write() as conn:
            deleted = max(conn.execute(stmt).rowcount, 0)
        total += deleted
        if deleted < batch_size:
            break
    return total


def prune_older_than(
    db: Database, days: int, *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH
) -> int:
    """Delete activities more than ``days`` days older than ``now`` (default: the store's
    clock); ``days`` of 0 keeps everything (returns 0).

    Raises:
        ConfigError: ``days`` is negative.
    """
    if days < 0:
        raise ConfigError(
            f"retention_days must be 0 (keep everything) or more, got {days}",
            fix="Set OPENCASB_RETENTION_DAYS (or retention_days in the config file) to a "
            "number of days, e.g. 180.",
        )
    if days == 0:
        return 0
    now = db.clock.now() if now is None else now
    return prune_activities(db, now - timedelta(days=days), batch_size=batch_size)
