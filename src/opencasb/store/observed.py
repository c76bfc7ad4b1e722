"""The detection stage's read: activities after a cursor per instance, each with what
detection decides on taken from the row's columns and the body decoded only on demand.

Contract:
    * :func:`observed_after` returns :class:`StoredActivity` objects in id order, at most
      ``limit``, per instance after its cursor (and up to ``upto``): see
      :func:`opencasb.store.detection.activities_after` for why per instance.
    * A :class:`StoredActivity`'s ``t``, ``activity_type``, ``category``, ``user_key`` and
      ``email_key`` are exactly what the decoded activity would give (``activity.time`` in
      microseconds since the epoch, ..., ``activity.actor.user_key``, and that key when it
      is the actor's e-mail, else None); the stored enrichment comes with it, read in the same
      query. :meth:`StoredActivity.activity` decodes the rest of the row on first call.
      Most activities of a pass are never decoded: no policy could match their type and
      category, and no anomaly detector acts on them beyond a gate on their user.
    * A row stored before migration 0016 has those columns NULL: it is decoded while it is
      read, and the fields are taken from the activity.
    * Damage in a row's columns raises :class:`~opencasb.errors.StoreError` when it is read;
      damage in its body, when :meth:`~StoredActivity.activity` is first called (an activity
      detection never looks into is never checked, and never stops the stage).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Select, select, type_coerce

from opencasb.enrich.enricher import Enrichment
from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Category
from opencasb.store._db import Database
from opencasb.store.codec import ACTIVITY_READ_COLUMNS, CORRUPT_FIX, activity_from_row
from opencasb.store.enrichment import enrichments_of_rows
from opencasb.store.instances import instance_names
from opencasb.store.micros import to_micros
from opencasb.store.schema import activities

__all__ = ["StoredActivity", "activity_columns", "after_statement", "observed_after"]

_RAW_TIME = type_coerce(activities.c.time, BigInteger)


def activity_columns() -> list[Any]:
    """The columns :func:`~opencasb.store.codec.activity_from_row` reads, the time as its
    raw microseconds (converted once, by the codec, not by the column type)."""
    cols: list[Any] = [activities.c[name] for name in ACTIVITY_READ_COLUMNS]
    cols[ACTIVITY_READ_COLUMNS.index("time")] = _RAW_TIME.label("time")
    return cols


# What observed_after reads: the activity's columns, then its stored enrichment's two, then
# the columns detection decides on.
_c = activities.c
_OBSERVED_COLS = [
    *activity_columns(),
    _c.enrich_ref,
    _c.ip_tags,
    _c.category,
    _c.user_key,
    _c.key_is_email,
]
_N = len(ACTIVITY_READ_COLUMNS)
_REF, _TAGS, _CATEGORY, _USER_KEY, _KEY_IS_EMAIL = range(_N, _N + 5)
_TIME = ACTIVITY_READ_COLUMNS.index("time")
_TYPE = ACTIVITY_READ_COLUMNS.index("activity_type")
_CATEGORY_BY_VALUE: dict[str, Category] = {c.value: c for c in Category}


class StoredActivity:
    """One stored activity as the detection stage reads it (module contract).

    Attributes:
        id, instance_id: the row's.
        t: the activity's time, in microseconds since the epoch (the engines' unit).
        activity_type, category: the activity's.
        user_key: the actor's :attr:`~opencasb.model.activity.Actor.user_key`.
        email_key: ``user_key`` when it is the actor's e-mail (case-folded), else None.
        enrichment: the enrichment stored with it (None: not enriched).
    """

    id: int
    instance_id: int
    t: int
    activity_type: str
    category: Category
    user_key: str
    email_key: str | None
    enrichment: Enrichment | None

    __slots__ = (
        "_activity",
        "_names",
        "_row",
        "_shared",
        "activity_type",
        "category",
        "email_key",
        "enrichment",
        "id",
        "instance_id",
        "t",
        "user_key",
    )

    def __init__(
        self,
        row: Any,
        names: Mapping[int, str],
        shared: dict[tuple[Any, ...], Any],
        enrichment: Enrichment | None,
    ) -> None:
        self.id = int(row[0])
        self.instance_id = int(row[1])
        self.enrichment = enrichment
        self._row: Any = row
        self._names = names
        self._shared = shared
        self._activity: Activity | None = None
        category = row[_CATEGORY]
        if category is None:  # stored before the columns were kept: from the body
            a = self.activity()
            self.t, self.activity_type, self.category = (
                to_micros(a.time),
                a.activity_type,
                a.category,
            )
            key = a.actor.user_key
            self.user_key, self.email_key = key, key if a.actor.email else None
            return
        self.t = row[_TIME]
        self.activity_type = row[_TYPE]
        try:
            self.category = _CATEGORY_BY_VALUE[category]
        except KeyError:
            raise StoreError(
                f"activities row {self.id} cannot be read: unknown category {category!r}",
                fix=CORRUPT_FIX,
            ) from None
        key = row[_USER_KEY] or ""
        self.user_key = key
        self.email_key = key if row[_KEY_IS_EMAIL] else None

    def activity(self) -> Activity:
        """The whole activity, decoded on the first call (``raw`` parsed on first use).

        Raises:
            StoreError: the row's body is damaged; the message names the row.
        """
        a = self._activity
        if a is None:
            a = self._activity = activity_from_row(
                self._row, self._names, lazy_raw=True, shared=self._shared
            )
            self._row = None  # the decoded activity holds all of it
        return a


def observed_after(
    db: Database,
    cursors: Mapping[int, int],
    limit: int,
    upto: Mapping[int, int] | None = None,
) -> list[StoredActivity]:
    """At most ``limit`` activities after ``cursors`` (and up to ``upto``), in id order, as
    :class:`StoredActivity` (module contract).

    Raises:
        StoreError: a row's columns are damaged (an unknown category), or a row stored
            before migration 0016 is (it is decoded here).
    """
    # The batch's rows and objects form no reference cycles, but allocating them makes the
    # cyclic collector run again and again over everything the process holds (the engines'
    # state): measured as much as the decoding itself. It runs after the batch.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _observed_after(db, cursors, limit, upto)
    finally:
        if collecting:
            gc.enable()


def _observed_after(
    db: Database,
    cursors: Mapping[int, int],
    limit: int,
    upto: Mapping[int, int] | None,
) -> list[StoredActivity]:
    names = instance_names(db)
    rows: list[Any] = []
    with db.read() as conn:
        for iid in sorted(names):
            after = cursors.get(iid, 0)
            last = None if upto is None else upto.get(iid, 0)
            if last is not None and last <= after:
                continue
            rows += conn.execute(after_statement(iid, after, last, limit)).all()
    rows.sort(key=_row_id)
    del rows[limit:]
    enriched = enrichments_of_rows(db, [(r[_REF], r[_TAGS]) for r in rows])
    # equal actors and places of the rows decoded are built once for the batch
    shared: dict[tuple[Any, ...], Any] = {}
    return [StoredActivity(r, names, shared, e) for r, e in zip(rows, enriched, strict=True)]


def after_statement(instance_id: int, after: int, last: int | None, limit: int) -> Select[Any]:
    """The query of :func:`observed_after` for one instance: at most ``limit`` of its rows
    with ids after ``after`` (and up to ``last``), in id order; served by the index
    ``(instance_id, id)``, so that it reads only those rows, never the instance's older ones."""
    stmt = select(*_OBSERVED_COLS).where(_c.instance_id == instance_id, _c.id > after)
    if last is not None:
        stmt = stmt.where(_c.id <= last)
    return stmt.order_by(_c.id).limit(limit)


def _row_id(r: Any) -> int:
    return int(r[0])
