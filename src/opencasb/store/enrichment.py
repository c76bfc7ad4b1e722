"""Stored enrichment: interning at ingest and reading it back (see store.enrich_codec).

* :func:`resolve_enrichments` gives the ``enrichments.id`` of each key, inserting the
  missing ones in a short transaction of their own before the page's (as actors are: a row
  without activities is harmless, and the cache then only holds committed ids). The ids
  are cached per process in :attr:`Database.enrich_refs`; ``enrichments`` rows are never
  deleted, so a cached id stays valid.
* :func:`stored_enrichments` reads the stored enrichment of activities by id (None for a
  row stored before enrichment was kept, or by a writer without an enricher);
  :func:`enrichments_of_rows` builds it from the two columns a reader fetched with the
  activities. Each interned row is parsed once per process (:attr:`Database.enrich_docs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from opencasb.enrich.enricher import Enrichment
from opencasb.errors import StoreError
from opencasb.store._db import Database
from opencasb.store.enrich_codec import enrichment_from_key, enrichment_values, tags_from_text
from opencasb.store.schema import activities, enrichments, instances

__all__ = [
    "StoredEnrichments",
    "enrichment_docs",
    "enrichments_of_events",
    "enrichments_of_rows",
    "resolve_enrichments",
    "stored_enrichments",
]

_CACHE_LIMIT = 200_000
"""Cached keys (and parsed rows) before the cache starts over: distinct enrichments are
few (addresses times clients), but the input is untrusted."""


def resolve_enrichments(db: Database, keys: Sequence[str]) -> dict[str, int]:
    """``enrichments.id`` of every key in ``keys``, inserting the missing ones (own
    transaction when any is new; see the module docstring)."""
    cache = db.enrich_refs
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    new = [k for k in dict.fromkeys(keys) if k not in cache]
    if new:
        values = [enrichment_values(k) for k in new]
        insert = (sqlite_insert if db.is_sqlite else pg_insert)(enrichments)
        with db.write() as conn:
            conn.execute(insert.on_conflict_do_nothing(), values)
            for start in range(0, len(new), 500):
                chunk = new[start : start + 500]
                found = conn.execute(
                    select(enrichments.c.key, enrichments.c.id).where(enrichments.c.key.in_(chunk))
                ).all()
                cache.update((k, int(i)) for k, i in found)
    return {k: cache[k] for k in keys}


def enrichment_docs(db: Database, refs: set[int]) -> dict[int, Enrichment]:
    """The interned enrichments of ``refs`` (without tags), parsed once per process; a ref
    with no row is left out.

    Raises:
        StoreError: an interned row is damaged.
    """
    docs = db.enrich_docs
    missing = [r for r in refs if r not in docs]
    if missing:
        if len(docs) > _CACHE_LIMIT:
            docs.clear()
        with db.read() as conn:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                rows = conn.execute(
                    select(enrichments.c.id, enrichments.c.key).where(enrichments.c.id.in_(chunk))
                ).all()
                for ref, key in rows:
                    try:
                        docs[int(ref)] = enrichment_from_key(key)
                    except ValueError as exc:
                        raise StoreError(
                            f"enrichments row {ref} cannot be read: {exc}",
                            fix="Run `opencasb enrich --all` to enrich the activities again.",
                        ) from exc
    return {r: docs[r] for r in refs if r in docs}


def _with_tags(doc: Enrichment | None, tags: str | None) -> Enrichment | None:
    if doc is None or not tags:
        return doc
    return replace(doc, ip_tags=tags_from_text(tags))


def enrichments_of_events(
    db: Database, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Enrichment | None]:
    """The stored enrichment of activities named by ``(instance name, source event id)``
    (what the portal and the API show; None: stored not enriched; absent: no such row)."""
    by_instance: dict[str, list[str]] = {}
    for name, sid in keys:
        by_instance.setdefault(name, []).append(sid)
    found: list[tuple[str, str, int | None, str | None]] = []
    cols = activities.c
    with db.read() as conn:
        for name, sids in by_instance.items():
            for start in range(0, len(sids), 500):
                chunk = sids[start : start + 500]
                rows = conn.execute(
                    select(cols.source_event_id, cols.enrich_ref, cols.ip_tags)
                    .join(instances, instances.c.id == cols.instance_id)
                    .where(instances.c.name == name, cols.source_event_id.in_(chunk))
                ).all()
                found += [(name, sid, ref, tags) for sid, ref, tags in rows]
    docs = enrichment_docs(db, {int(ref) for _, _, ref, _ in found if ref is not None})
    return {
        (name, sid): _with_tags(docs.get(int(ref)) if ref is not None else None, tags)
        for name, sid, ref, tags in found
    }


def stored_enrichments(db: Database, ids: Sequence[int]) -> dict[int, Enrichment | None]:
    """The stored enrichment of each of the activities ``ids`` that exists (None: the row
    is not enriched). One range read over ``min(ids)..max(ids)`` (the ids a stage reads
    are mostly consecutive)."""
    if not ids:
        return {}
    wanted = set(ids)
    cols = activities.c
    with db.read() as conn:
        rows = conn.execute(
            select(cols.id, cols.enrich_ref, cols.ip_tags).where(
                cols.id >= min(ids), cols.id <= max(ids)
            )
        ).all()
    found = [(int(i), ref, tags) for i, ref, tags in rows if int(i) in wanted]
    made = enrichments_of_rows(db, [(ref, tags) for _, ref, tags in found])
    return {i: e for (i, _, _), e in zip(found, made, strict=True)}


def enrichments_of_rows(
    db: Database, columns: Sequence[tuple[int | None, str | None]]
) -> list[Enrichment | None]:
    """The stored enrichment of activities given their ``(enrich_ref, ip_tags)`` columns,
    in order (None: not enriched). The interned rows come from the process's cache; only
    those not parsed yet are read (one query per 500)."""
    made = StoredEnrichments(
        enrichment_docs(db, {int(ref) for ref, _ in columns if ref is not None})
    )
    return [made.of(ref, tags) for ref, tags in columns]


class StoredEnrichments:
    """The stored enrichment of rows given their ``enrich_ref`` and ``ip_tags`` columns, from
    interned enrichments already read (:func:`enrichment_docs`). Most activities share their
    (enrichment, tags) with many others: each pair is built once, and rows share the object
    (Enrichment is immutable)."""

    __slots__ = ("_docs", "_made")

    def __init__(self, docs: Mapping[int, Enrichment]) -> None:
        self._docs = docs
        self._made: dict[tuple[Any, str | None], Enrichment | None] = {}

    def of(self, ref: Any, tags: str | None) -> Enrichment | None:
        """The enrichment of a row with these columns (None: not enriched)."""
        key = (ref, tags)
        if key in self._made:
            return self._made[key]
        doc = self._docs.get(int(ref)) if ref is not None else None
        made = self._made[key] = _with_tags(doc, tags)
        return made
