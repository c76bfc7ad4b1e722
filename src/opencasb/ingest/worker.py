"""What an ingest worker process runs: parse, normalize and encode one page.

This module is all a worker imports (besides the app's normalizer), and every module it
imports is resident in the fork server and in each worker: keep it to the model, the
normalizing rules and the row encoder, and away from the store's engine, SQLAlchemy, the
CLI and the HTTP stack. It enriches each activity too (:mod:`opencasb.enrich`): the
pipeline's initializer (:func:`init_worker`) builds the worker's enricher once; the built-in
geo database loads on its first page (not in the fork server: a second there delayed every
pipeline's start, so small syncs never reached their workers).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opencasb.enrich.enricher import Enricher, EnricherSpec
from opencasb.errors import StoreError
from opencasb.formats.records import RawRecords, Records
from opencasb.ingest.normalizing import normalize_record
from opencasb.model import Activity
from opencasb.store.pages import EncodedPage, encode_activities

__all__ = ["encode_page", "encode_texts", "exit_with_parent", "init_worker"]

Normalize = Callable[[Mapping[str, Any]], Activity]

_ENRICHER: Enricher | None = None
"""This worker process's enricher (set by :func:`init_worker`)."""


def init_worker(spec: EnricherSpec | None) -> None:
    """Worker initializer: :func:`exit_with_parent`, and the enricher pages are enriched
    with (None: not enriched)."""
    global _ENRICHER
    exit_with_parent()
    _ENRICHER = spec.build() if spec is not None else None


def encode_page(
    normalize: Normalize,
    instance_id: int,
    records: Sequence[Any],
    *,
    with_raw: bool = False,
    enricher: Enricher | None = None,
) -> EncodedPage:
    """Normalize and encode one page of records (each parsed as it is read, when the page
    holds them as text).

    A record that fails to normalize is reported in ``EncodedPage.rejected``, as
    :func:`~opencasb.ingest.normalizing.normalize_all` would quarantine it, and so is one
    whose activity breaks the Activity contract (a normalizer bug met an odd record).
    Each row's body keeps its record's JSON text as fetched
    (:meth:`~opencasb.formats.records.Records.wire`). ``with_raw`` serializes each
    activity's raw record instead: for records that are not plain JSON (``wire()`` is None),
    which have no text to keep;
    such a page fails as a whole on a contract breach (its records could not be quarantined
    either), raising StoreError. ``enricher`` enriches each activity (None: not enriched).
    """
    # As in normalize_all: the page's objects form no cycles, so the cyclic collector would
    # only re-scan them; it runs between pages.
    collecting = gc.isenabled()
    gc.disable()
    try:
        texts = records.wire() if isinstance(records, Records) and not with_raw else None
        activities: list[Activity] = []
        positions: list[int] = []
        rejected: list[tuple[int, str]] = []
        for i in range(len(records)):
            outcome = normalize_record(normalize, records[i])
            if type(outcome) is str:
                rejected.append((i, outcome))
            else:
                activities.append(outcome)  # type: ignore[arg-type]
                positions.append(i)
        try:
            return encode_activities(
                instance_id,
                activities,
                positions=positions,
                texts=texts,
                rejected=rejected,
                enricher=enricher,
            )
        except StoreError:
            if with_raw:
                raise
            # An activity the store cannot keep (a normalizer bug met an odd record) costs
            # that record, quarantined with the reason, not the page: a page that can never
            # be stored would stop its feed for good.
            return _encode_each(instance_id, activities, positions, texts, rejected, enricher)
    finally:
        if collecting:
            gc.enable()


def encode_texts(normalize: Normalize, instance_id: int, texts: list[str]) -> EncodedPage:
    """The worker's job: :func:`encode_page` of records sent as their JSON text, enriched
    with the worker's enricher."""
    return encode_page(normalize, instance_id, RawRecords(texts), enricher=_ENRICHER)


def _encode_each(
    instance_id: int,
    activities: list[Activity],
    positions: list[int],
    texts: Sequence[str] | None,
    rejected: list[tuple[int, str]],
    enricher: Enricher | None,
) -> EncodedPage:
    kept: list[Activity] = []
    kept_positions: list[int] = []
    for a, position in zip(activities, positions, strict=True):
        try:
            encode_activities(instance_id, [a], positions=[position], texts=texts)
        except StoreError as exc:
            rejected.append((position, f"the store cannot keep its activity: {exc.__cause__}"))
        else:
            kept.append(a)
            kept_positions.append(position)
    rejected.sort()
    return encode_activities(
        instance_id,
        kept,
        positions=kept_positions,
        texts=texts,
        rejected=rejected,
        enricher=enricher,
    )


def exit_with_parent() -> None:
    """Worker initializer: end this worker when the process that started it dies.

    A pool's idle workers block reading their task queue, which a SIGKILLed parent never
    closes, so without this they would outlive it for good. The pipe the parent spawned
    the worker through reaches end-of-file only when the parent is gone.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: returns once the parent is gone
        os._exit(1)

    threading.Thread(target=watch, name="opencasb-parent-watch", daemon=True).start()
