"""Store the records of an export file: history from before the API's retention window.

Contract:
    * :func:`import_file` imports one file through its app's plugin
      (:attr:`~opencasb.apps.base.AppConnector.IMPORT`): the app's reader and normalizer,
      into the named instance, which it creates import-only when it does not exist.
    * :func:`import_records` normalizes records in batches and stores each batch with
      ``Store.save_pages`` under the feed ``import:<file name>``, so every batch, its
      quarantined records and the feed's progress commit together, as the ingest runner does.
    * Records the reader could not read (:class:`~opencasb.formats.exports.BadRecord`) and
      records the normalizer refuses are quarantined with the reason, never dropped.
    * Importing the same records again adds nothing: the store skips an activity it already
      holds for the instance (same source event id) and counts it as a duplicate. An
      activity the API stored is never replaced by an imported one (``from_api`` counts
      them); the rows keep their origin ``import:<file name>``.
    * Memory holds one batch, whatever the size of the file (if the reader streams).
    * After each batch the instance's health counts it (events stored, duplicates,
      quarantined, newest event), as a polled page is counted, so ``opencasb apps`` shows an
      import-only instance with what it holds. Its state and errors are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from opencasb.apps.base import load_app
from opencasb.clock import Clock, SystemClock
from opencasb.errors import ConfigError, InstanceBusy, NotFound
from opencasb.formats.exports import BadRecord
from opencasb.ingest.lease import hold
from opencasb.ingest.runner import SERVICES_STATE, normalize_all
from opencasb.model import Activity
from opencasb.store import PageWrite

if TYPE_CHECKING:
    from opencasb.store import SaveResult, Store

__all__ = ["IMPORT_BATCH", "ImportResult", "feed_name", "import_file", "import_records"]

IMPORT_BATCH: Final = 1000


@dataclass(slots=True)
class ImportResult:
    """What an import did: activities stored, skipped as already present (``from_api`` of
    them stored by the app's API, whose record is kept), quarantined."""

    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    from_api: int = 0


def feed_name(path: Path) -> str:
    """The feed an import of ``path`` is stored under (its progress and quarantine)."""
    return f"import:{path.name}"


def import_file(
    store: Store,
    app: str,
    path: Path,
    *,
    instance: str,
    clock: Clock | None = None,
    on_wait: Callable[[InstanceBusy], None] | None = None,
) -> ImportResult:
    """Import the export file ``path`` of ``app`` into the instance named ``instance``.

    The file is read by the app's :class:`~opencasb.apps.base.FileImport`; an instance that
    does not exist is created import-only (it holds history and never polls). The first
    record is read before the store is touched, so a file refused as a whole leaves no
    empty instance behind. The import holds the instance's lease (as a sync run does),
    waiting for a sync of the instance to finish its run; ``on_wait`` is told who holds it.

    Raises:
        ConfigError: the app is not installed or imports no files; the file is missing or
            cannot be read as an export of the app; ``instance`` belongs to another app.
        StoreError: the store failed; batches already committed stay.
    """
    cls = load_app(app)
    spec = cls.IMPORT
    if spec is None:
        raise ConfigError(
            f"{cls.TITLE} has no export files to import",
            fix=f"connect it with `opencasb connect {app}` and sync its history from the API",
        )
    if not path.is_file():
        raise ConfigError(f"no such file: {path}", fix="give the path of the export file")
    records = iter(spec.read(path))
    head = list(islice(records, 1))
    try:
        rec = store.get_instance(instance)
    except NotFound:
        rec = store.add_instance(app, instance, dict(spec.config), {}, enabled=False)
    if rec.app != app:
        raise ConfigError(
            f"{instance} is an instance of {rec.app}, not {app}",
            fix=f"name an {cls.TITLE} instance with --instance, or a new name to create one",
        )
    # The instance's lease, as a sync holds it: a sync running now finishes its run first.
    clock = clock or SystemClock()
    with hold(store, rec.id, rec.name, clock=clock, wait=True, on_wait=on_wait):
        return import_records(
            store,
            rec.id,
            feed_name(path),
            chain(head, records),
            spec.normalize,
            services=cls.services,
            clock=clock,
        )


def import_records(
    store: Store,
    instance_id: int,
    feed: str,
    records: Iterable[Mapping[str, Any] | BadRecord],
    normalize: Callable[[Mapping[str, Any]], Activity],
    *,
    services: Callable[[Sequence[Any]], set[str]] | None = None,
    clock: Clock | None = None,
    batch_size: int = IMPORT_BATCH,
) -> ImportResult:
    """Normalize and store ``records`` into the instance, ``batch_size`` at a time.

    The feed's cursor after each batch is ``{"line": n}``, n being the records read so far.
    An empty input still stores one empty batch, so the feed records that it ran.

    Args:
        services: the app's :meth:`~opencasb.apps.base.AppConnector.services`; a service
            first seen in the file is noted (at ``clock``'s now) as a poll notes it, so
            the apps list shows it.

    Raises:
        StoreError: the store failed; batches already committed stay.
        ConfigError: the reader could not read the file (raised from ``records``).
    """
    result = ImportResult()
    batch: list[Mapping[str, Any]] = []
    bad: list[tuple[dict[str, Any] | str, str]] = []

    def flush(read: int) -> None:
        activities, rejected = normalize_all(normalize, batch)
        rejected += bad
        page = PageWrite.of(
            instance_id,
            feed,
            activities,
            {"line": read},
            rejected=rejected,
            enricher=store.enricher,
        )
        saved = store.save_pages([page])[0]
        _count(store, instance_id, activities, saved)
        if services is not None:
            _note_services(store, instance_id, services(batch), clock or SystemClock())
        result.inserted += saved.inserted
        result.duplicates += saved.duplicates
        result.from_api += saved.from_api
        result.rejected += len(rejected)
        batch.clear()
        bad.clear()

    read = 0
    for read, item in enumerate(records, start=1):
        if isinstance(item, BadRecord):
            bad.append((item.text, f"line {item.line_no}: {item.error}"))
        else:
            batch.append(item)
        if len(batch) + len(bad) >= batch_size:
            flush(read)
    if batch or bad or read == 0:
        flush(read)
    return result


def _count(store: Store, instance_id: int, activities: list[Activity], saved: SaveResult) -> None:
    # Read, add, write: safe while the caller holds the instance's lease (import_file does),
    # as no sync of the instance writes its health meanwhile.
    health = store.get_health(instance_id)
    newest = max((a.time for a in activities), default=None)
    if health.newest_event is not None and (newest is None or health.newest_event > newest):
        newest = health.newest_event
    store.set_health(
        instance_id,
        dataclasses.replace(
            health,
            newest_event=newest,
            events_stored=health.events_stored + saved.inserted,
            duplicates_dropped=health.duplicates_dropped + saved.duplicates,
            rejected=health.rejected + saved.quarantined,
        ),
    )


def _note_services(store: Store, instance_id: int, seen: set[str], clock: Clock) -> None:
    # Read, add, write, as _count: a sync running meanwhile may write its own list over a
    # service noted here; the next import or poll that sees the service notes it again.
    known = store.get_state(instance_id, SERVICES_STATE) or {}
    new = seen - known.keys()
    if new:
        at = clock.now().isoformat()
        store.set_state(instance_id, SERVICES_STATE, {**known, **dict.fromkeys(new, at)})
