"""The detection stage's read: activities after a cursor per instance, as :class:`Observed`,
with what detection decides on taken from the row's columns and the rest decoded on demand.

Contract:
    * :func:`observed_after` returns :class:`Observed` objects in id order, at most ``limit``,
      per instance after its cursor (and up to ``upto``): see
      :func:`opencasb.store.detection.activities_after` for why per instance.
    * An Observed's ``t``, ``activity_type``, ``category``, ``user_key`` and ``email_key`` are
      exactly what its activity gives (``activity.time`` in microseconds since the epoch,
      ..., ``activity.actor.user_key``, and that key when it is the actor's e-mail, else
      None). Read from the store, they come from the row's columns (migration 0016), and
      ``activity`` and ``enrichment`` are worked out on the first use of either: most
      activities of a pass are never looked into (no policy could match their type and
      category, and no anomaly detector acts on them beyond a gate on their user), so most
      bodies are never decompressed.
    * ``enrichment`` is the one stored with the activity (None: not enriched), or what the
      ``enrich`` hook of :func:`observed_after` makes of it (the detection stage's: the
      current IP tags).
    * A row stored before migration 0016 has those columns NULL: it is decoded while it is
      read, and the fields are taken from the activity.
    * Damage in a row's columns raises :class:`~opencasb.errors.StoreError` when it is read;
      damage in its body, at the first use of ``activity`` or ``enrichment`` (an activity
      detection never looks into is never checked, and never stops the stage).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, func, select, type_coerce, union_all

from opencasb.enrich.enricher import Enrichment
from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Category
from opencasb.store._db import Database
from opencasb.store.codec import ACTIVITY_READ_COLUMNS, CORRUPT_FIX, activity_from_row
from opencasb.store.enrichment import StoredEnrichments, enrichment_docs
from opencasb.store.instances import instance_names
from opencasb.store.micros import from_micros, to_micros
from opencasb.store.schema import activities

__all__ = ["EnrichStored", "Observed", "activity_columns", "after_statement", "observed_after"]

EnrichStored = Callable[[Activity, Enrichment | None], Enrichment]
"""How a reader turns an activity and the enrichment stored with it (None: not enriched)
into the enrichment it uses."""

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


class _Batch:
    """What the rows of one read share: the instances' names, the actors and places decoded
    once (see :func:`activity_from_row`), their stored enrichments and the reader's hook."""

    __slots__ = ("enrich", "enrichments", "names", "shared")

    def __init__(
        self, names: Mapping[int, str], enrichments: StoredEnrichments, enrich: EnrichStored | None
    ) -> None:
        self.names = names
        self.enrichments = enrichments
        self.enrich = enrich
        self.shared: dict[tuple[Any, ...], Any] = {}


class Observed:
    """One stored activity as detection sees it (module contract): its store id (what
    evidence refers to), the activity and its enrichment (None: not enriched, so no IP tags
    and no ``enrich.*``).

    Attributes:
        id: the activity's store id.
        instance_id: its instance's id (0 for one made from an activity, not read).
        t: the activity's time in microseconds since the epoch (what the engines compare;
            :attr:`time` is the datetime).
        activity_type, category: the activity's.
        user_key: the actor's :attr:`~opencasb.model.activity.Actor.user_key`.
        email_key: ``user_key`` when it is the actor's e-mail, else None.
    """

    id: int
    instance_id: int
    t: int
    activity_type: str
    category: Category
    user_key: str
    email_key: str | None

    __slots__ = (
        "_activity",
        "_batch",
        "_enrichment",
        "_row",
        "activity_type",
        "category",
        "email_key",
        "id",
        "instance_id",
        "t",
        "user_key",
    )

    def __init__(self, id: int, activity: Activity, enrichment: Enrichment | None = None) -> None:
        """An Observed of an activity in hand (tests, previews): nothing left to decode."""
        self.id = id
        self.instance_id = 0
        self._set(activity, enrichment)

    def _set(self, activity: Activity, enrichment: Enrichment | None) -> None:
        self._activity: Activity | None = activity
        self._enrichment = enrichment
        self._row: Any = None
        self._batch: _Batch | None = None
        self.t = to_micros(activity.time)
        self.activity_type = activity.activity_type
        self.category = activity.category
        actor = activity.actor
        self.user_key = actor.user_key
        self.email_key = self.user_key if actor.email else None

    @property
    def time(self) -> datetime:
        """The activity's time (from :attr:`t`, without decoding anything)."""
        return from_micros(self.t)

    @property
    def activity(self) -> Activity:
        """The activity (decoded now if it was not yet).

        Raises:
            StoreError: its stored body is damaged; the message names the row.
        """
        a = self._activity
        if a is None:
            a = self._load()
        return a

    @property
    def enrichment(self) -> Enrichment | None:
        """Its enrichment (None: not enriched).

        Raises:
            StoreError: as :attr:`activity` (the hook may need the activity).
        """
        if self._batch is not None:
            self._load()
        return self._enrichment

    @property
    def ip_tags(self) -> frozenset[str]:
        """The tags of the source address (the scope's IP tags are matched against these)."""
        e = self.enrichment
        return frozenset(e.ip_tags) if e is not None else frozenset()

    def _load(self) -> Activity:
        row, batch = self._row, self._batch
        assert row is not None and batch is not None  # else the activity is in hand
        a = activity_from_row(row, batch.names, lazy_raw=True, shared=batch.shared)
        stored = batch.enrichments.of(row[_REF], row[_TAGS])
        self._enrichment = stored if batch.enrich is None else batch.enrich(a, stored)
        self._activity = a
        self._row = self._batch = None  # the activity holds all of the row now
        return a

    def __repr__(self) -> str:
        return f"Observed(id={self.id}, activity={self.activity!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Observed):
            return NotImplemented
        return (self.id, self.activity, self.enrichment) == (
            other.id,
            other.activity,
            other.enrichment,
        )

    __hash__ = None  # type: ignore[assignment]  # a cache inside: comparable, not hashable


def _observed(row: Any, batch: _Batch) -> Observed:
    """The Observed of a row read by :func:`observed_after` (module contract)."""
    o = Observed.__new__(Observed)
    o.id = int(row[0])
    o.instance_id = int(row[1])
    category = row[_CATEGORY]
    if category is None:  # stored before the columns were kept: from the body
        o._row, o._batch = row, batch
        o._load()
        a = o._activity
        assert a is not None
        o._set(a, o._enrichment)
        return o
    try:
        o.category = _CATEGORY_BY_VALUE[category]
    except KeyError:
        raise StoreError(
            f"activities row {o.id} cannot be read: unknown category {category!r}",
            fix=CORRUPT_FIX,
        ) from None
    o.t = row[_TIME]
    o.activity_type = row[_TYPE]
    key = o.user_key = row[_USER_KEY] or ""
    o.email_key = key if row[_KEY_IS_EMAIL] else None
    o._activity = o._enrichment = None
    o._row = row
    o._batch = batch
    return o


def observed_after(
    db: Database,
    cursors: Mapping[int, int],
    limit: int,
    upto: Mapping[int, int] | None = None,
    enrich: EnrichStored | None = None,
) -> list[Observed]:
    """At most ``limit`` activities after ``cursors`` (and up to ``upto``), in id order, as
    :class:`Observed` (module contract); ``enrich``: the hook their ``enrichment`` goes
    through (None: the stored one as it is).

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
        return _observed_after(db, cursors, limit, upto, enrich)
    finally:
        if collecting:
            gc.enable()


def _observed_after(
    db: Database,
    cursors: Mapping[int, int],
    limit: int,
    upto: Mapping[int, int] | None,
    enrich: EnrichStored | None,
) -> list[Observed]:
    names = instance_names(db)
    bounds: dict[int, tuple[int, int | None]] = {}
    for iid in sorted(names):
        after = cursors.get(iid, 0)
        last = None if upto is None else upto.get(iid, 0)
        if last is None or last > after:
            bounds[iid] = (after, last)
    rows: list[Any] = []
    with db.read() as conn:
        if len(bounds) > 1:
            bounds = _narrowed(conn, bounds, limit)
        for iid, (after, last) in bounds.items():
            rows += conn.execute(after_statement(iid, after, last, limit)).all()
    rows.sort(key=_row_id)
    del rows[limit:]
    docs = enrichment_docs(db, {int(r[_REF]) for r in rows if r[_REF] is not None})
    batch = _Batch(names, StoredEnrichments(docs), enrich)
    return [_observed(r, batch) for r in rows]


def _narrowed(
    conn: Connection, bounds: dict[int, tuple[int, int | None]], limit: int
) -> dict[int, tuple[int, int | None]]:
    """``bounds`` (instance id -> (after, last)) narrowed to the instances with new rows and,
    when there are more than ``limit`` of them in all, to the first ``limit`` in id order
    (each instance's last id among them). Reading ``limit`` whole rows of each instance and
    dropping all but ``limit`` read as many rows again as there are instances, catching up
    after a backfill; merging whole rows in SQL copied their bodies into a sorter. This
    reads the index ``(instance_id, id)`` only: a count of each instance's new rows (up to
    ``limit``; about a millisecond), and their ids only when the counts exceed ``limit``."""
    news = [_new_ids(iid, after, last) for iid, (after, last) in bounds.items()]
    counts = conn.execute(
        select(
            *(
                select(func.count()).select_from(q.limit(limit).subquery()).scalar_subquery()
                for q in news
            )
        )
    ).one()
    if sum(counts) <= limit:  # all of them fit: read them whole
        return {iid: b for (iid, b), n in zip(bounds.items(), counts, strict=True) if n}
    parts = [select(q.order_by(_c.id).limit(limit).subquery()) for q in news]
    merged = union_all(*parts).subquery()
    first = select(merged).order_by(merged.c.id).limit(limit).subquery()
    tops = conn.execute(
        select(first.c.instance_id, func.max(first.c.id)).group_by(first.c.instance_id)
    ).all()
    return {int(iid): (bounds[int(iid)][0], int(top)) for iid, top in tops}


def _new_ids(instance_id: int, after: int, last: int | None) -> Select[Any]:
    """The ids (and instance id) of an instance's rows after ``after`` (up to ``last``)."""
    q = select(_c.id, _c.instance_id).where(_c.instance_id == instance_id, _c.id > after)
    return q if last is None else q.where(_c.id <= last)


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
