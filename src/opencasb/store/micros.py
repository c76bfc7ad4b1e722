"""Times as the store keeps them: integer microseconds since the Unix epoch, in UTC.

A module of its own, without SQLAlchemy, because the row encoder that ingest workers run
needs it and the table definitions (:mod:`opencasb.store.schema`) are not worth their
memory in a worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "from_micros", "to_micros"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    """Aware datetime -> microseconds since the epoch. Naive datetimes raise ``TypeError``."""
    if dt.tzinfo is None:
        raise TypeError("naive datetime: the store only accepts timezone-aware times")
    return (dt - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    """Microseconds since the epoch -> aware UTC datetime (exact, no float rounding)."""
    return EPOCH + timedelta(microseconds=value)
