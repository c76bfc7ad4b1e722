"""Per-instance leases: at most one process syncs (or imports into) an instance at a time.

Contract:
    * :func:`acquire` takes the instance's lease for ``holder`` until ``now + ttl`` when it
      is free, expired, or already held by the same holder, and returns ``None``; otherwise
      it changes nothing and returns the :class:`Lease` that stands in the way.
    * It is atomic on both engines: the insert and the conditional update run in one write
      transaction (SQLite's write lock; on PostgreSQL the primary key makes one of two racing
      inserts wait and then conflict, and ``UPDATE ... WHERE`` re-checks its condition on the
      row it locked), so two racing processes never both hold a lease.
    * :func:`renew` extends a lease its holder still holds and returns False when the lease
      was lost (it expired and another process took it over).
    * :func:`release` drops a lease its holder holds; a lease held by another is left alone.
    * A holder the caller names as dead is taken over at once (see :func:`acquire`).
    * Times come from the caller (the store's clock), so tests expire leases without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opencasb.store._db import Database
from opencasb.store.schema import leases

__all__ = ["Lease", "acquire", "current", "release", "renew"]


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds an instance: ``holder`` ("pid@host"), since when and until when."""

    instance_id: int
    holder: str
    acquired: datetime
    expires: datetime


def acquire(
    db: Database, instance_id: int, holder: str, ttl: timedelta, *, dead: str | None = None
) -> Lease | None:
    """Take the lease of ``instance_id`` for ``holder``; ``None`` on success, else the
    lease another holder has (unchanged).

    ``dead`` names a holder the caller knows to be dead (a process of this host that no
    longer exists): its lease is taken over as if it had expired. Naming it, rather than
    taking over whatever is there, keeps the check atomic: a live process that took the
    lease meanwhile is not displaced."""
    now = db.clock.now()
    values = {"instance_id": instance_id, "holder": holder, "acquired": now, "expires": now + ttl}
    insert = (sqlite_insert if db.is_sqlite else pg_insert)(leases)
    with db.write() as conn:
        taken = conn.execute(insert.values(values).on_conflict_do_nothing()).rowcount
        if taken != 1:
            taken = conn.execute(
                update(leases)
                .where(
                    leases.c.instance_id == instance_id,
                    or_(
                        leases.c.holder == holder,
                        leases.c.expires <= now,
                        leases.c.holder == (dead if dead is not None else holder),
                    ),
                )
                .values(
                    holder=holder,
                    # the same holder taking it again keeps its original start
                    acquired=case(
                        (leases.c.holder == holder, leases.c.acquired),
                        else_=literal(now, leases.c.acquired.type),
                    ),
                    expires=now + ttl,
                )
            ).rowcount
        if taken == 1:
            return None
        row = conn.execute(select(leases).where(leases.c.instance_id == instance_id)).one()
    return Lease(row.instance_id, row.holder, row.acquired, row.expires)


def renew(db: Database, instance_id: int, holder: str, ttl: timedelta) -> bool:
    """Extend ``holder``'s lease to ``now + ttl``; False if ``holder`` no longer holds it."""
    now = db.clock.now()
    with db.write() as conn:
        result = conn.execute(
            update(leases)
            .where(and_(leases.c.instance_id == instance_id, leases.c.holder == holder))
            .values(expires=now + ttl)
        )
    return result.rowcount == 1


def release(db: Database, instance_id: int, holder: str) -> None:
    """Drop ``holder``'s lease of ``instance_id`` (nothing if another holds it)."""
    with db.write() as conn:
        conn.execute(
            delete(leases).where(leases.c.instance_id == instance_id, leases.c.holder == holder)
        )


def current(db: Database, instance_id: int) -> Lease | None:
    """The unexpired lease of ``instance_id``, or None."""
    now = db.clock.now()
    with db.read() as conn:
        row = conn.execute(
            select(leases).where(leases.c.instance_id == instance_id, leases.c.expires > now)
        ).first()
    return None if row is None else Lease(row.instance_id, row.holder, row.acquired, row.expires)
