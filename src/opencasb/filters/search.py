"""Searching the store with a filter: SQL first, then the residual over streamed rows.

:func:`search` returns one page (newest first, like
:meth:`opencasb.store.Store.query_activities`); :func:`iter_matching` streams every match.
The filter's SQL part joins the query's own filters (AND). When the filter has a residual
(vendor data, targets, enrichment, fields the store keeps compressed), rows that pass the
SQL are read in chunks, newest first, and the residual keeps or drops each; a page is full
when ``limit`` rows matched, however many were read for it.

A residual that reads enrichment (``ends_with``/``matches`` on ``enrich.*``, ``matches`` on
``ip_tags``; everything else about enrichment is SQL) gets each row's enrichment as stored
at ingest, read once per chunk; a row stored without one is enriched by the ``enricher`` if
given. Its ``ip_tags`` are replaced by the CURRENT tags of the stored ranges, as the SQL
part reads them (:mod:`opencasb.filters.sql`): a search reflects a range tagged a moment
ago without ``opencasb enrich --all``.

Paging with a residual: ``next_after`` points just past the page's last row, so the next
page continues there. It is set whenever the page is full, so the last page may come back
empty. When a page ends inside a chunk, its token is found by reading the chunk's head
again (activities carry no row id); on a first page, activities stored in between shift that
head, so the next page may repeat a few rows (never skip one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING

from sqlalchemy import and_

from opencasb.enrich.enricher import Enrichment
from opencasb.filters.ast import Filter
from opencasb.filters.sql import Compiled, compile_sql
from opencasb.model.activity import Activity
from opencasb.store.query import ActivityPage, ActivityQuery

if TYPE_CHECKING:
    from opencasb.enrich.enricher import Enricher
    from opencasb.store import Store

__all__ = ["iter_matching", "search"]

# Rows read per statement while applying a residual.
CHUNK = 500


def _compiled(flt: Filter | Compiled) -> Compiled:
    return flt if isinstance(flt, Compiled) else compile_sql(flt, residual_enrichment=True)


def _with_where(q: ActivityQuery, c: Compiled) -> ActivityQuery:
    where = c.where if q.where is None else and_(q.where, c.where)
    return dataclasses.replace(q, where=where)


def _keep(
    store: Store, c: Compiled, enricher: Enricher | None, items: Sequence[Activity]
) -> list[bool]:
    """Whether the residual keeps each of ``items`` (see the module docstring)."""
    residual = c.residual
    if residual is None:
        return [True] * len(items)
    if not c.needs_enrichment:
        return [residual(a, None) for a in items]
    stored = store.enrichments_of_events([(a.instance, a.source_event_id) for a in items])
    current: dict[str | None, tuple[str, ...]] = {}
    out = []
    for a in items:
        e = stored.get((a.instance, a.source_event_id))
        if e is None and enricher is not None:
            e = enricher.enrich(a)
        if c.live_tags:
            # the tags of the ranges stored now, as the SQL part reads them (one indexed
            # lookup per distinct address of the chunk)
            if a.src_ip not in current:
                current[a.src_ip] = store.ip_tags.tags_of(a.src_ip)
            e = dataclasses.replace(e or Enrichment(), ip_tags=current[a.src_ip])
        out.append(residual(a, e))
    return out


def search(
    store: Store,
    flt: Filter | Compiled,
    query: ActivityQuery | None = None,
    *,
    enricher: Enricher | None = None,
) -> ActivityPage:
    """One page of the activities matching ``flt`` and ``query`` (``query.limit`` rows at
    most, after ``query.after``), newest first.

    ``enricher``: enriches the rows stored without an enrichment, for a residual that reads
    it (see the module docstring; without one they have none).

    Raises:
        ConfigError: the query is invalid. StoreError: the database failed.
    """
    q = query or ActivityQuery()
    c = _compiled(flt)
    q = _with_where(q, c)
    if c.residual is None:
        return store.query_activities(q)
    found: list[Activity] = []
    chunk_q = dataclasses.replace(q, limit=CHUNK)
    while True:
        page = store.query_activities(chunk_q)
        kept = _keep(store, c, enricher, page.items)
        for i, a in enumerate(page.items):
            if not kept[i]:
                continue
            found.append(a)
            if len(found) < q.limit:
                continue
            if i == len(page.items) - 1:
                return ActivityPage(found, page.next_after)
            # The token just past row i: the same chunk read again, i + 1 rows long.
            head = store.query_activities(dataclasses.replace(chunk_q, limit=i + 1))
            return ActivityPage(found, head.next_after)
        if page.next_after is None:
            return ActivityPage(found, None)
        chunk_q = dataclasses.replace(chunk_q, after=page.next_after)


def iter_matching(
    store: Store,
    flt: Filter | Compiled,
    query: ActivityQuery | None = None,
    *,
    enricher: Enricher | None = None,
    batch_size: int = 1000,
) -> Iterator[Activity]:
    """Every activity matching ``flt`` and ``query`` (from ``query.after`` on, ignoring
    ``query.limit``), newest first, read ``batch_size`` rows at a time.

    Raises:
        as :func:`search`.
    """
    c = _compiled(flt)  # here, so that a filter that does not compile fails before any output
    q = _with_where(query or ActivityQuery(), c)
    rows = store.iter_activities(q, batch_size=batch_size)
    if c.residual is None:
        return rows
    return _kept_rows(store, c, enricher, rows, batch_size)


def _kept_rows(
    store: Store, c: Compiled, enricher: Enricher | None, rows: Iterator[Activity], size: int
) -> Iterator[Activity]:
    while chunk := list(islice(rows, size)):
        yield from (
            a for a, keep in zip(chunk, _keep(store, c, enricher, chunk), strict=True) if keep
        )
