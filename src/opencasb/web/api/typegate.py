"""Which activity types the store holds: a filter on a type it has never held is answered at
once, instead of reading every row (``activities`` has no index on ``activity_type``: each
index costs ingest, and the common types are found within the first rows of the time index).

Kept exact by id: the distinct types are read once (one scan, on first use), and then only
rows stored after the highest id already seen, through the primary key. PostgreSQL may
commit a lower id after a higher one (two processes syncing two instances), so there the
last :data:`PG_MARGIN` ids are read again whenever new ids appeared or :data:`PG_RECHECK`
seconds passed: a type first stored that way is seen within seconds. Deleted rows leave
their type in the set (a superset: the answer is never wrongly empty); an API page replacing
an imported row keeps its id but is the same event, hence the same type.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from opencasb.store import Store
from opencasb.store.schema import activities

__all__ = ["PG_MARGIN", "KnownTypes"]

PG_MARGIN = 20_000
PG_RECHECK = 5.0


class KnownTypes:
    """The stored activity types of one store (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: set[str] | None = None
        self._max_id = 0
        self._checked = float("-inf")

    def may_exist(self, store: Store, activity_type: str, now: float) -> bool:
        """False only when no stored activity has had this type (``now``: monotonic s)."""
        with self._lock:
            self._refresh(store, now)
            assert self._types is not None
            return activity_type in self._types

    def _refresh(self, store: Store, now: float) -> None:
        a = activities.c
        with store.engine.connect() as conn:
            top = int(conn.execute(select(func.max(a.id))).scalar() or 0)
            unchanged = self._types is not None and top == self._max_id
            if unchanged and (store.dialect == "sqlite" or now - self._checked < PG_RECHECK):
                return
            start = 0
            if self._types is not None:
                margin = PG_MARGIN if store.dialect == "postgresql" else 0
                start = max(0, self._max_id - margin)
            found = conn.execute(
                select(a.activity_type).where(a.id > start, a.id <= top).distinct()
            ).scalars()
            self._types = (self._types or set()) | set(found)
        self._max_id = top
        self._checked = now
