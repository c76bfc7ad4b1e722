"""Parallel ingest: worker processes normalize and encode pages while this process stores.

Normalizing and encoding a page is pure CPU work and about three quarters of ingest time;
storing it is mostly SQLite or PostgreSQL. A thread cannot overlap the two (they convoy on
the GIL), so pages go to worker *processes*:

    caller ── records as JSON text ──► worker: parse, normalize, encode (EncodedPage)
             (Records.wire(): a RawRecords
              page's own texts)
      ▲                                            │
      └── store rows + cursor, ONE transaction ◄───┘   (in page order, in this process)

The JSON text the caller sends is also what the ``raw`` column stores, so it is made once.
Workers enrich each activity too (with the store's :attr:`~opencasb.store.Store.enricher`,
rebuilt in each worker from its :class:`~opencasb.enrich.EnricherSpec`), so the enrichment
is committed with the activity, in the same transaction.
Only this process touches the database: it resolves actor ids, then commits the pages with
their cursors, strictly in the order they were put, several pages to a transaction (about
``group`` records; see :data:`GROUP_RECORDS` for why). A page is
never committed before the pages put ahead of it, so the guarantees of
:meth:`~opencasb.store.Store.save_pages` hold: a crash loses at most the pages not yet
committed, and their cursors with them.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from opencasb.enrich.enricher import Enricher
from opencasb.errors import OpenCASBError
from opencasb.formats.records import Records, records_of
from opencasb.ingest import worker
from opencasb.ingest.worker import encode_page, encode_texts, init_worker
from opencasb.model import Activity
from opencasb.store import EncodedPage, PageWrite, SaveResult, Store

__all__ = [
    "AHEAD_PER_WORKER",
    "GROUP_RECORDS",
    "IngestPipeline",
    "StoredPage",
    "encode_page",
    "log_rejected",
    "page_write",
]

log = logging.getLogger(__name__)

GROUP_RECORDS = 5_000
"""Records committed per transaction (at least one page). Measured on SQLite with Okta
events: one commit per 1,000 rows ~13-18k rows/s of insert, one per 5,000 ~20-26k/s, and
little more beyond; a crash re-fetches at most this many records."""

AHEAD_PER_WORKER = 4
"""Default pages in flight per worker. While this process commits a group (about a quarter
of a second for 5,000 Okta events on SQLite) the workers idle unless that much work is
already queued: with one page per worker in flight, two workers and this process kept only
1.4 of 2 cores busy; with four, 1.6 (Okta ingest +8-15%). Memory is bounded by the pages in
flight: a few megabytes each."""

T = TypeVar("T")
Normalize = Callable[[Mapping[str, Any]], Activity]


def log_rejected(feed: str, rejected: Sequence[tuple[Any, str]]) -> None:
    """Log each record just quarantined with the reason, never the record itself (it can
    hold anything the API sent, including personal data)."""
    for _record, reason in rejected:
        log.warning(
            "record quarantined: %s", reason[:300], extra={"feed": feed, "reason": reason[:300]}
        )


def page_write(
    normalize: Normalize,
    instance_id: int,
    feed: str,
    records: Sequence[Any],
    cursor: dict[str, Any],
    *,
    quarantine: Sequence[tuple[Any, str]] = (),
    enricher: Enricher | None = None,
) -> PageWrite:
    """One page normalized and encoded in this process, exactly as the pipeline stores it:
    the records' texts as the ``raw`` column, the records that fail quarantined as fetched,
    then ``quarantine`` (the runner's gaps); each activity enriched by ``enricher``.

    Raises:
        StoreError: records that are not plain JSON broke the Activity contract.
    """
    page = records_of(records)
    texts = page.wire()
    encoded = encode_page(normalize, instance_id, page, with_raw=texts is None, enricher=enricher)
    return _write(instance_id, feed, page, texts, encoded, cursor, quarantine)


def _write(
    instance_id: int,
    feed: str,
    records: Records,
    texts: list[str] | None,
    encoded: EncodedPage,
    cursor: dict[str, Any],
    quarantine: Sequence[tuple[Any, str]],
) -> PageWrite:
    rejected = [(records.as_fetched(i), error) for i, error in encoded.rejected or ()]
    rejected.extend(quarantine)
    return PageWrite(instance_id, feed, encoded, texts or (), cursor, rejected)


def _worker_context(normalize: Normalize) -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a fork server.

    Not a plain fork: the caller has threads (WAL checkpointer, HTTP pools) that a forked
    child would inherit in whatever state they were in. The fork server is a fresh process,
    started once per sync process, that imports :mod:`opencasb.ingest.worker` and the
    normalizer once; each worker is then a fork of it, ready at once. With "spawn" every
    worker imported all of that itself: measured 1-2 CPU-seconds per worker per backfill.

    Only those two: each module the server imports is resident in the server and in every
    worker. With the caller's main module (the CLI) and this one (the store, SQLAlchemy,
    Alembic) preloaded too, each of the three processes held ~70 MiB; with the worker's own
    imports alone, about a third of that. (multiprocessing still re-runs the main *script*
    in each worker, which is why ``opencasb.cli`` imports its commands lazily.)
    """
    context = multiprocessing.get_context("forkserver")
    # Takes effect when the server starts (the first pipeline of this process); a later
    # pipeline's normalizer is imported by its workers as they unpickle it.
    context.set_forkserver_preload([worker.__name__, normalize.__module__])
    return context


@dataclass(frozen=True, slots=True)
class StoredPage(Generic[T]):
    """A committed page: the caller's ``tag``, what the store did, and records quarantined."""

    tag: T
    saved: SaveResult
    rejected: int


@dataclass(frozen=True, slots=True)
class _Pending(Generic[T]):
    future: Future[EncodedPage]
    instance_id: int
    feed: str
    records: Records
    texts: list[str] | None
    cursor: dict[str, Any]
    tag: T
    quarantine: Sequence[tuple[Any, str]]


class IngestPipeline(Generic[T]):
    """Store pages of raw records, normalizing and encoding them in worker processes.

    :meth:`put` hands a page to a worker and then stores the oldest pages that are more than
    ``ahead`` pages behind; :meth:`flush` stores the rest. Both return the pages they
    committed, in the order they were put. Use it as a context manager, or call
    :meth:`close`; pages put but not flushed are dropped uncommitted (their cursor did not
    move, so they are fetched again).

    Args:
        store: where pages go; only this process writes to it.
        normalize: a module-level (picklable) pure normalizer, e.g. an app's ``normalize``.
        workers: worker processes (each takes one page at a time).
        ahead: pages in flight while older ones are stored (default: ``AHEAD_PER_WORKER``
            per worker).
        group: records to gather before a commit (a page is never split).
        enricher: what each activity is enriched with (default: ``store.enricher``).
    """

    def __init__(
        self,
        store: Store,
        normalize: Normalize,
        *,
        workers: int = 1,
        ahead: int | None = None,
        group: int = GROUP_RECORDS,
        enricher: Enricher | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("an ingest pipeline needs at least one worker")
        self._store = store
        self._normalize = normalize
        self._enricher = enricher if enricher is not None else store.enricher
        self._workers = workers
        self._ahead = max(1, ahead if ahead is not None else AHEAD_PER_WORKER * workers)
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=_worker_context(normalize),
            initializer=init_worker,
            initargs=(self._enricher.spec(),),
        )
        self._group = group
        self._starting: list[Future[EncodedPage]] = []
        self._pending: deque[_Pending[T]] = deque()
        # Encoded pages waiting for their group's commit, oldest first.
        self._ready: list[tuple[_Pending[T], EncodedPage]] = []
        self._ready_records = 0

    def __enter__(self) -> IngestPipeline[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the workers and have each import the normalizer, without waiting for them
        (:meth:`ready` tells when they are up). Idempotent."""
        if not self._starting:
            self._starting = [
                self._pool.submit(encode_texts, self._normalize, 0, [])
                for _ in range(self._workers)
            ]

    def ready(self) -> bool:
        """Whether the workers started by :meth:`start` are up (or failed to start, which
        the first :meth:`put` then reports). Once true, stays true."""
        return bool(self._starting) and all(f.done() for f in self._starting)

    def warm_up(self) -> None:
        """:meth:`start`, then wait until the workers are up."""
        self.start()
        for f in self._starting:
            f.exception()  # waits; a worker that failed to start surfaces at put()

    def put(
        self,
        instance_id: int,
        feed: str,
        records: Sequence[Any],
        cursor: dict[str, Any],
        tag: T,
        *,
        quarantine: Sequence[tuple[Any, str]] = (),
    ) -> list[StoredPage[T]]:
        """Queue one page (its records as fetched, and the feed's cursor after it).

        ``quarantine`` holds more ``(record, error)`` entries to store with the page, after
        the records that fail to normalize (the runner's gaps).

        Returns:
            The pages committed to make room, oldest first (possibly none).

        Raises:
            StoreError: storing a page failed, or a page broke the Activity contract; that
                page and every later one are not stored.
            OpenCASBError: a worker process died.
        """
        page = records_of(records)
        texts = page.wire()
        future: Future[EncodedPage]
        if texts:  # plain JSON, and an empty page is not worth a round trip
            future = self._pool.submit(encode_texts, self._normalize, instance_id, texts)
        else:
            future = Future()
            try:
                encoded = encode_page(
                    self._normalize,
                    instance_id,
                    page,
                    with_raw=texts is None,
                    enricher=self._enricher,
                )
            except OpenCASBError as exc:
                future.set_exception(exc)
            else:
                future.set_result(encoded)
        self._pending.append(
            _Pending(future, instance_id, feed, page, texts, cursor, tag, quarantine)
        )
        done: list[StoredPage[T]] = []
        while len(self._pending) > self._ahead:
            self._take_oldest()
            if self._ready_records >= self._group:
                done.extend(self._commit_ready())
        return done

    def flush(self) -> list[StoredPage[T]]:
        """Store every page put so far; returns them, oldest first. Raises as :meth:`put`."""
        while self._pending:
            self._take_oldest()
        return self._commit_ready()

    def close(self) -> None:
        """Drop unflushed pages (uncommitted) and stop the workers. Idempotent."""
        self._stop()
        self._ready.clear()
        self._ready_records = 0

    def _take_oldest(self) -> None:
        """Wait for the oldest page's encoding and queue it for the next commit.

        If it failed, that page and every later one are dropped and the workers stopped,
        but the pages queued before it stay queued: :meth:`flush` still commits them (as a
        commit per page would have), so a page that cannot be stored never holds back the
        pages before it.
        """
        p = self._pending.popleft()
        try:
            page = p.future.result()
        except BrokenProcessPool as exc:
            self._stop()
            raise OpenCASBError(
                "an ingest worker process died while normalizing a page",
                meaning="Nothing from that page or later ones was stored; their cursor did "
                "not move, so the next run fetches them again.",
                fix="Check the system log for the process being killed (out of memory?) "
                "and run the sync again.",
                code="ingest_worker_died",
            ) from exc
        except BaseException:
            self._stop()
            raise
        self._ready.append((p, page))
        self._ready_records += max(1, len(p.records))

    def _stop(self) -> None:
        """Cancel the pages in flight and stop the workers; ready pages stay queued."""
        for p in self._pending:
            p.future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _commit_ready(self) -> list[StoredPage[T]]:
        """Commit every ready page in one transaction; returns them, oldest first."""
        if not self._ready:
            return []
        writes = [
            _write(p.instance_id, p.feed, p.records, p.texts, page, p.cursor, p.quarantine)
            for p, page in self._ready
        ]
        counts = [len(w.rejected) for w in writes]
        try:
            saved = self._store.save_pages(writes)
        except BaseException:
            self.close()
            raise
        for write in writes:
            log_rejected(write.feed, write.rejected)
        done = [
            StoredPage(p.tag, result, n)
            for (p, _page), result, n in zip(self._ready, saved, counts, strict=True)
        ]
        self._ready.clear()
        self._ready_records = 0
        return done
