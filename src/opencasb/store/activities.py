"""The ingest write path: a page of activities, its rejects and its cursor, in one transaction.

This is the hot path (tens of thousands of activities per second). Rows are encoded by
:func:`opencasb.store.pages.encode_activities` before the transaction starts -- in the
caller's process (:meth:`PageWrite.of`) or in an ingest worker process -- so the write lock
is held only for the inserts themselves. :func:`save_pages` is the one write path.

Actors are interned in the ``actors`` table (see :mod:`opencasb.store.schema`). Their ids
are cached per instance and actor key in :attr:`Database.actor_refs`, so a page whose
actors were all seen before does no look-ups; new actors are inserted in a short
transaction of their own before the page's (an actor row without activities is harmless,
and committing it first means the cache only ever holds committed ids). The page's
transaction then checks that one cached actor still exists: SQLite may reuse the id of a
deleted instance, and a cache filled before another process removed and re-created it must
not be trusted.

* SQLite: one ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``; pysqlite's
  ``rowcount`` is the number of rows actually inserted.
* PostgreSQL: ``COPY`` into a session-local staging table, then one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. COPY avoids a round trip and a parse
  per row, and DO NOTHING also absorbs duplicates inside the same batch (the first wins,
  thanks to ``ORDER BY ord``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opencasb.model.activity import Activity
from opencasb.store._db import ActorRefs, Database
from opencasb.store.codec import ACTIVITY_WRITE_COLUMNS, ActorKey, dumps, loads_object
from opencasb.store.enrichment import resolve_enrichments
from opencasb.store.pages import EncodedPage, encode_activities
from opencasb.store.schema import activities, actors, cursors, rejected_records

if TYPE_CHECKING:
    from opencasb.enrich.enricher import Enricher

__all__ = [
    "IMPORT_PREFIX",
    "PageWrite",
    "SaveResult",
    "activity_ids",
    "content_hash",
    "count_activities",
    "get_cursor",
    "newest_activity_time",
    "origin_of",
    "rejected_count",
    "save_pages",
]


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :func:`save_pages` did with a page's rows (``inserted + replaced + duplicates``
    is the number of rows).

    Attributes:
        inserted: new rows.
        duplicates: rows skipped because the instance already held their event id.
        replaced: rows of an API page that replaced an imported row with their event id.
        from_api: of an import's duplicates, how many the API had stored (origin "api:").
        quarantined: quarantine rows added (a record the feed had quarantined before is
            not added again).
    """

    inserted: int
    duplicates: int
    replaced: int = 0
    from_api: int = 0
    quarantined: int = 0


IMPORT_PREFIX = "import:"
"""Feeds (and origins) of file imports start with this; the feed is "import:<file name>"."""


def origin_of(feed: str) -> str:
    """The ``origin`` of the rows a feed stores: the import feed itself, else "api:<feed>"."""
    return feed if feed.startswith(IMPORT_PREFIX) else f"api:{feed}"


_QUOTED = ", ".join(f'"{c}"' for c in ACTIVITY_WRITE_COLUMNS)
_SQLITE_INSERT = (
    f"INSERT INTO activities ({_QUOTED}) VALUES ({', '.join('?' for _ in ACTIVITY_WRITE_COLUMNS)}) "
    'ON CONFLICT ("instance_id", "source_event_id") DO NOTHING'
)
_PG_STAGE = "opencasb_activities_stage"
# Created once per session; CREATE TABLE AS copies the column types without constraints.
_PG_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGE} ON COMMIT DELETE ROWS AS "
    f"SELECT 0::integer AS ord, {_QUOTED} FROM activities WITH NO DATA"
)
_PG_COPY = f"COPY {_PG_STAGE} (ord, {_QUOTED}) FROM STDIN"
_PG_MERGE = (
    f"INSERT INTO activities ({_QUOTED}) SELECT {_QUOTED} FROM {_PG_STAGE} ORDER BY ord "
    'ON CONFLICT ("instance_id", "source_event_id") DO NOTHING'
)
# An API page replaces the imported rows with its event ids (all columns but the key; the
# first of a page's rows with one id, as the insert keeps the first).
_REPLACED = [c for c in ACTIVITY_WRITE_COLUMNS if c not in ("instance_id", "source_event_id")]
_SET = ", ".join(f'"{c}"' for c in _REPLACED)
_IMPORTED = f"origin LIKE '{IMPORT_PREFIX}%'"
_SQLITE_REPLACE = (
    f"UPDATE activities SET ({_SET}) = ({', '.join('?' for _ in _REPLACED)}) "
    f"WHERE instance_id = ? AND source_event_id = ? AND {_IMPORTED}"
)
_FROM_STAGE = ", ".join(f's."{c}"' for c in _REPLACED)
_PG_REPLACE = (
    f"UPDATE activities a SET ({_SET}) = ({_FROM_STAGE}) "
    f"FROM (SELECT DISTINCT ON (source_event_id) * FROM {_PG_STAGE} "
    "ORDER BY source_event_id, ord) s "
    f"WHERE a.instance_id = s.instance_id AND a.source_event_id = s.source_event_id "
    f"AND a.{_IMPORTED}"
)


# Distinct actors cached per instance before the cache starts over (the input is untrusted:
# a password-spraying run can name a new "actor" per event).
_ACTOR_CACHE_LIMIT = 200_000


def _resolve_actors(db: Database, instance_id: int, new: list[ActorKey]) -> dict[ActorKey, int]:
    """actors.id of each key of ``new``, inserting the missing ones (own transaction)."""
    texts = {orjson.dumps(key).decode(): key for key in new}
    values = [
        {
            "instance_id": instance_id,
            "key": text,
            "actor_id_lc": key[0],
            "email": key[1],
            "name_lc": key[2],
        }
        for text, key in texts.items()
    ]
    insert_actors = (sqlite_insert if db.is_sqlite else pg_insert)(actors)
    with db.write() as conn:
        conn.execute(insert_actors.on_conflict_do_nothing(), values)
        found = conn.execute(
            select(actors.c.key, actors.c.id).where(
                actors.c.instance_id == instance_id, actors.c.key.in_(list(texts))
            )
        ).all()
    return {texts[text]: int(ref) for text, ref in found}


def _actor_ids(db: Database, instance_id: int, keys: list[ActorKey | None]) -> ActorRefs:
    """The instance's actor cache, holding every key of ``keys``."""
    refs = db.actor_refs.get(instance_id)
    if refs is None or len(refs.by_key) > _ACTOR_CACHE_LIMIT:
        refs = db.actor_refs[instance_id] = ActorRefs()
    cache = refs.by_key
    new = [k for k in keys if k is not None and k not in cache]
    if new:
        resolved = _resolve_actors(db, instance_id, new)
        cache.update(resolved)
        if refs.sentinel is None and resolved:
            refs.sentinel = next(iter(resolved.values()))
    return refs


def _sentinel_alive(conn: Connection, instance_id: int, ref: int) -> bool:
    found = conn.execute(
        select(actors.c.id).where(actors.c.id == ref, actors.c.instance_id == instance_id)
    ).first()
    return found is not None


class _StaleActors(Exception):
    """The cached actor ids belong to a removed instance whose id was reused."""


def _insert_sqlite(conn: Connection, rows: list[tuple[Any, ...]], replace: bool) -> tuple[int, int]:
    """(inserted, replaced); see :func:`_insert_postgres`."""
    result = conn.exec_driver_sql(_SQLITE_INSERT, rows)
    inserted = max(result.rowcount, 0)
    replaced = 0
    if replace and inserted < len(rows):
        updated = conn.exec_driver_sql(_SQLITE_REPLACE, [(*r[2:], r[0], r[1]) for r in rows])
        replaced = max(updated.rowcount, 0)
    return inserted, replaced


def _insert_postgres(
    conn: Connection, rows: list[tuple[Any, ...]], replace: bool
) -> tuple[int, int]:
    """Insert the new rows and, with ``replace``, overwrite imported rows with the same
    event ids; returns (inserted, replaced)."""
    pg = conn.connection.driver_connection
    assert pg is not None
    replaced = 0
    with pg.cursor() as cur:
        cur.execute(_PG_CREATE_STAGE)
        with cur.copy(_PG_COPY) as copy:
            for i, row in enumerate(rows):
                copy.write_row((i, *row))
        cur.execute(_PG_MERGE)
        inserted = int(cur.rowcount)
        if replace and inserted < len(rows):
            cur.execute(_PG_REPLACE)
            replaced = int(cur.rowcount)
        # ON COMMIT DELETE ROWS empties the stage at commit; a later page in the same
        # transaction (not used today) must not see these rows again.
        cur.execute(f"TRUNCATE {_PG_STAGE}")
    return inserted, replaced


def _has_imports(conn: Connection, instance_id: int) -> bool:
    """Whether any file was imported into the instance (its import feeds keep a cursor)."""
    found = conn.execute(
        select(cursors.c.feed)
        .where(
            cursors.c.instance_id == instance_id,
            cursors.c.feed >= IMPORT_PREFIX,
            cursors.c.feed < IMPORT_PREFIX[:-1] + chr(ord(IMPORT_PREFIX[-1]) + 1),
        )
        .limit(1)
    ).first()
    return found is not None


def _count_from_api(conn: Connection, instance_id: int, ids: list[str]) -> int:
    """How many of ``ids`` the instance holds from an API feed."""
    total = 0
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        total += int(
            conn.execute(
                select(func.count())
                .select_from(activities)
                .where(
                    activities.c.instance_id == instance_id,
                    activities.c.source_event_id.in_(chunk),
                    activities.c.origin.like("api:%"),
                )
            ).scalar_one()
        )
    return total


def _upsert_cursor(
    conn: Connection, instance_id: int, feed: str, cursor: str, now: datetime
) -> None:
    values = {"instance_id": instance_id, "feed": feed, "cursor": cursor, "updated_at": now}
    if conn.dialect.name == "sqlite":
        stmt = sqlite_insert(cursors).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["instance_id", "feed"],
            set_={"cursor": stmt.excluded.cursor, "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt)
    else:
        pstmt = pg_insert(cursors).values(values)
        pstmt = pstmt.on_conflict_do_update(
            index_elements=["instance_id", "feed"],
            set_={"cursor": pstmt.excluded.cursor, "updated_at": pstmt.excluded.updated_at},
        )
        conn.execute(pstmt)


@dataclass(frozen=True, slots=True)
class PageWrite:
    """One page to store with :func:`save_pages`: its rows, encoded ahead of the transaction
    (possibly in another process) by :func:`~opencasb.store.pages.encode_activities`, its
    quarantined records, and the feed's cursor after it.

    ``texts`` is what the page was encoded from (the records' JSON text); the rows' bodies,
    raw records included, are already in ``page.raws``. ``rejected``
    holds ``(raw record, error text)`` pairs to quarantine; the raw record is kept verbatim
    (a dict is stored as JSON).
    ``cursor`` None leaves the feed's cursor as it is; ``resolved`` are ids of quarantined
    records of the instance that the page's rows recover (deleted in the same transaction,
    see ``opencasb rejected retry``).
    """

    instance_id: int
    feed: str
    page: EncodedPage
    texts: Sequence[str]
    cursor: dict[str, Any] | None
    rejected: Sequence[tuple[dict[str, Any] | str, str]] = ()
    resolved: Sequence[int] = ()

    @classmethod
    def of(
        cls,
        instance_id: int,
        feed: str,
        activities: Sequence[Activity],
        cursor: dict[str, Any] | None,
        *,
        rejected: Sequence[tuple[dict[str, Any] | str, str]] = (),
        resolved: Sequence[int] = (),
        enricher: Enricher | None = None,
    ) -> PageWrite:
        """A page of activities normalized in this process (their ``raw`` is kept),
        enriched by ``enricher`` (None: stored not enriched; pass the store's
        :attr:`~opencasb.store.Store.enricher`).

        Raises:
            StoreError: an activity breaks the Activity contract (e.g. a naive time).
        """
        page = encode_activities(instance_id, activities, enricher=enricher)
        return cls(instance_id, feed, page, (), cursor, rejected, resolved)

    @property
    def raws(self) -> Sequence[bytes]:
        """The ``body`` column of each row."""
        if self.page.raws is None:
            raise ValueError("an EncodedPage without bodies (encode it with encode_activities)")
        return self.page.raws


def save_pages(db: Database, writes: Sequence[PageWrite]) -> list[SaveResult]:
    """Store pages, in order, in ONE transaction; see :meth:`opencasb.store.Store.save_pages`."""
    try:
        return _write_pages(db, writes)
    except _StaleActors:
        for w in writes:
            db.actor_refs.pop(w.instance_id, None)
        return _write_pages(db, writes)


def _enrich_refs(db: Database, page: EncodedPage) -> list[int | None]:
    """Each row's ``enrich_ref`` (None for all when the page was encoded without an
    enricher); new enrichments are interned first, in their own transaction."""
    of_row = page.enrichment_of_row
    if of_row is None or page.enrichments is None:
        return [None] * len(page.rows)
    refs = resolve_enrichments(db, page.enrichments)
    ids = [refs[k] for k in page.enrichments]
    return [ids[i] for i in of_row]


def _write_pages(db: Database, writes: Sequence[PageWrite]) -> list[SaveResult]:
    # Actor ids first, each in its own short transaction (see the module docstring); then
    # every page's rows, rejects and cursor in one transaction. Committing several pages at
    # once matters on SQLite: a commit writes every B-tree page it dirtied to the WAL, and
    # the random keys of the unique, actor and IP indexes dirty about one index page per row,
    # so one commit per 1,000 rows wrote the same index pages again and again.
    prepared: list[tuple[PageWrite, list[tuple[Any, ...]], ActorRefs | None]] = []
    for w in writes:
        page = w.page
        refs = _actor_ids(db, w.instance_id, page.actors) if page.rows else None
        rows: list[tuple[Any, ...]] = []
        if refs is not None:
            cache = refs.by_key
            ids = [None if k is None else cache[k] for k in page.actors]
            origin = origin_of(w.feed)
            erefs = _enrich_refs(db, page)
            rows = [
                (*head, raw, ids[a], e, origin)
                for head, raw, a, e in zip(page.rows, w.raws, page.actor_of_row, erefs, strict=True)
            ]
        prepared.append((w, rows, refs))
    now = db.clock.now()
    results: list[SaveResult] = []
    with db.write() as conn:
        checked: set[int] = set()
        for w, rows, refs in prepared:
            if refs is not None and w.instance_id not in checked:
                checked.add(w.instance_id)
                sentinel = refs.sentinel
                if sentinel is not None and not _sentinel_alive(conn, w.instance_id, sentinel):
                    raise _StaleActors  # rolls back; the caller retries once with fresh caches
            results.append(_write_page(conn, db.is_sqlite, w, rows, now))
    if db.checkpointer is not None and any(rows for _w, rows, _r in prepared):
        db.checkpointer.poke()
    return results


def _write_page(
    conn: Connection,
    is_sqlite: bool,
    w: PageWrite,
    rows: list[tuple[Any, ...]],
    now: datetime,
) -> SaveResult:
    inserted = replaced = from_api = quarantined = 0
    if rows:
        # An API page replaces imported rows (the API's record is preferred); an import
        # never replaces anything and counts which of its records the API already had.
        api = not w.feed.startswith(IMPORT_PREFIX)
        replace = api and _has_imports(conn, w.instance_id)
        insert_rows = _insert_sqlite if is_sqlite else _insert_postgres
        inserted, replaced = insert_rows(conn, rows, replace)
        if not api and inserted < len(rows):
            from_api = _count_from_api(conn, w.instance_id, [r[1] for r in rows])
    if w.rejected:
        quarantined = _quarantine(conn, w.instance_id, w.feed, w.rejected, now)
    if w.resolved:
        conn.execute(
            delete(rejected_records).where(
                rejected_records.c.instance_id == w.instance_id,
                rejected_records.c.id.in_(list(w.resolved)),
            )
        )
    if w.cursor is not None:
        _upsert_cursor(conn, w.instance_id, w.feed, dumps(w.cursor), now)
    return SaveResult(
        inserted=inserted,
        duplicates=len(rows) - inserted - replaced,
        replaced=replaced,
        from_api=from_api,
        quarantined=quarantined,
    )


def content_hash(raw: str) -> str:
    """The quarantine's identity of a record text: sha256 hex of its UTF-8 bytes."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _quarantine(
    conn: Connection,
    instance_id: int,
    feed: str,
    rejected: Sequence[tuple[dict[str, Any] | str, str]],
    now: datetime,
) -> int:
    """Insert quarantine rows and return how many were added; a record the feed already
    quarantined is not added again."""
    rejects = []
    for raw, error in rejected:
        text = raw if isinstance(raw, str) else dumps(raw)
        rejects.append(
            {
                "instance_id": instance_id,
                "feed": feed,
                "raw": text,
                "error": error,
                "received_at": now,
                "content_hash": content_hash(text),
            }
        )
    insert_rejects = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(
        rejected_records
    )
    # RETURNING counts the rows added on both engines (the rowcount of an insert that
    # returns its generated ids is -1 on psycopg).
    stmt = insert_rejects.on_conflict_do_nothing().returning(rejected_records.c.id)
    return len(conn.execute(stmt, rejects).all())


def get_cursor(db: Database, instance_id: int, feed: str) -> dict[str, Any] | None:
    """The feed's saved cursor, or ``None`` before its first page."""
    with db.read() as conn:
        text = conn.execute(
            select(cursors.c.cursor).where(
                cursors.c.instance_id == instance_id, cursors.c.feed == feed
            )
        ).scalar()
    if text is None:
        return None
    return loads_object(text, f"cursors row ({instance_id}, {feed!r})")


def count_activities(db: Database, instance_id: int | None = None) -> int:
    """Number of stored activities, of one instance or of all."""
    stmt = select(func.count()).select_from(activities)
    if instance_id is not None:
        stmt = stmt.where(activities.c.instance_id == instance_id)
    with db.read() as conn:
        return int(conn.execute(stmt).scalar_one())


def activity_ids(db: Database, instance_id: int) -> set[str]:
    """The source event ids stored for an instance."""
    with db.read() as conn:
        return set(
            conn.execute(
                select(activities.c.source_event_id).where(activities.c.instance_id == instance_id)
            ).scalars()
        )


def newest_activity_time(db: Database, instance_id: int) -> datetime | None:
    """Time of the newest stored activity of an instance, or ``None`` if it has none."""
    with db.read() as conn:
        value = conn.execute(
            select(func.max(activities.c.time)).where(activities.c.instance_id == instance_id)
        ).scalar()
    return value


def rejected_count(db: Database, instance_id: int) -> int:
    """Number of quarantined records of an instance."""
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(rejected_records)
                .where(rejected_records.c.instance_id == instance_id)
            ).scalar_one()
        )
