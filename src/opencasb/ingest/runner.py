"""The ingest runner: fetch a page, normalize it, store it with its cursor, repeat.

The runner owns the only write path from a connector to the store. Each page's activities,
its quarantined records and the feed's next cursor are committed in ONE transaction
(``Store.save_pages``), so a crash at any moment either keeps a page and its cursor or neither;
a restart re-reads at most one page, and the store drops the duplicates. Health is written
after each page, separately, because it is advisory and must never roll data back.

Small polls are normalized and stored in this process. Once a run has fetched
``pipeline_after`` records and its feed is still behind (a backfill), the run starts an
:class:`~opencasb.ingest.pipeline.IngestPipeline`, and as soon as its worker processes are
up the rest of the run goes through it: the workers normalize the next pages while this
process stores the previous ones, still in the order fetched. Starting workers costs about
a second of CPU each, which a live poll would never earn back; until they are up, pages are
still stored here rather than waited on.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from opencasb.apps.base import AppConnector, Inventory, Page, connector_for
from opencasb.clock import Clock, SystemClock
from opencasb.errors import ConnectorError, InstanceBusy, OpenCASBError
from opencasb.http.background import BACKGROUND_INTERVAL, BackgroundPace
from opencasb.http.options import HttpOptions
from opencasb.ingest import health as health_rules
from opencasb.ingest.background import Background
from opencasb.ingest.lease import Held, hold
from opencasb.ingest.normalizing import (
    gap_record,
    gap_rejects,
    normalize_all,
    normalize_record,
)
from opencasb.ingest.pipeline import IngestPipeline, StoredPage, log_rejected, page_write
from opencasb.logs import carry_context, in_context, log_context, new_error_ref
from opencasb.model import Health, HealthState

if TYPE_CHECKING:
    from opencasb.store import InstanceRecord, SaveResult, Store

__all__ = [
    "INVENTORY_STATE",
    "PIPELINE_AFTER",
    "SERVICES_STATE",
    "IngestRunner",
    "PageEvent",
    "RunResult",
    "default_workers",
    "gap_record",
    "normalize_all",
    "normalize_record",
]

log = logging.getLogger(__name__)

PIPELINE_AFTER = 2_000
"""Records a run fetches in this process before a backfill starts worker processes."""

INVENTORY_EVERY = timedelta(hours=6)
SERVICES_STATE = "services"
"""The connector state that keeps the services of a suite seen so far, with when."""
INVENTORY_STATE = "inventory"
"""The connector state that keeps when the inventory was last fetched."""


@dataclass(frozen=True, slots=True)
class PageEvent:
    """Reported to the progress callback after each stored page."""

    instance: str
    feed: str
    page: Page
    inserted: int
    duplicates: int
    rejected: int


@dataclass(slots=True)
class RunResult:
    """What one run of one instance did."""

    instance: str
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: OpenCASBError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Run:
    """The state of one run of one instance: its health so far and what it did."""

    rec: InstanceRecord
    health: Health
    result: RunResult
    fetched: int = 0  # records fetched, stored or not yet
    connector: AppConnector | None = None
    services: dict[str, str] = field(default_factory=dict)  # service -> first seen (ISO)
    held: Held | None = None  # the instance's lease, renewed as pages are stored


class _PageCollector:
    """While a backfill runs through worker processes, the cyclic garbage collector runs once
    every ``EVERY`` pages instead of every 700 allocations.

    The sync process parses each page into tens of thousands of objects that live until the
    page is stored, so the automatic collector kept re-scanning them and the whole heap
    (measured: 15-25% of this process's CPU time in a backfill, where this process is the
    bottleneck). Everything alive when the backfill starts (modules, connector, store) is
    frozen, so each collection here scans only what was allocated since: bounded, and any
    cyclic garbage is still reclaimed. Pages themselves form no cycles; reference counting
    frees them as soon as they are stored.
    """

    EVERY = 16

    def __init__(self) -> None:
        self._active = True
        self._enabled = gc.isenabled()
        self._pages = 0
        gc.freeze()
        gc.disable()

    def page(self) -> None:
        """Count a page; collect every ``EVERY`` pages."""
        self._pages += 1
        if self._active and self._pages % self.EVERY == 0:
            gc.collect()

    def close(self) -> None:
        """Restore the collector as it was. Idempotent."""
        if self._active:
            self._active = False
            gc.unfreeze()
            if self._enabled:
                gc.enable()


ConnectorFactory = Callable[["InstanceRecord", Mapping[str, str]], AppConnector]


def default_workers() -> int:
    """Worker processes for backfills: one per core, at most four; none on a single core
    (the workers would only take turns with the writer)."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, 4)


def _internal_error(exc: Exception, ref: str) -> OpenCASBError:
    """What an unexpected exception in a run is shown as (the scheduler retries in ERROR's
    interval; what was committed stays, and the cursor never passed what was not).
    ``ref`` is the ``error_ref`` of the log line that holds the traceback."""
    return OpenCASBError(
        f"internal error: {type(exc).__name__}: {exc} (error_ref {ref})",
        meaning="OpenCASB failed unexpectedly while syncing; pages committed before the "
        "failure are kept and the rest are fetched again on the next run. The traceback is "
        f"in the log line with error_ref {ref}.",
        fix=f"Report this as a bug with the log line that has error_ref {ref}; the sync "
        "retries on its own.",
        code="internal_error",
    )


class IngestRunner:
    """Runs the feeds of connected app instances into the store.

    Args:
        store: where activities, cursors and health go.
        http: transport/TLS/clock options handed to every connector.
        clock: time for health and lag.
        on_page: called after each stored page (progress bars).
        connector_factory: builds a connector for an instance (default
            :func:`~opencasb.apps.base.connector_for`; tests inject one).
        workers: worker processes for backfills (default :func:`default_workers`); 0 keeps
            every page in this process.
        pipeline_after: records a run fetches before a backfill starts the workers.
        inventory_interval: seconds between inventory requests while the feeds run.
        holder: this runner as a lease holder (default "pid@host"; see ingest.lease).
        wait_for_lease: when another process syncs an instance, wait for it instead of
            ending the run with :class:`~opencasb.errors.InstanceBusy`.
        on_wait: told who holds an instance before waiting for it.
    """

    def __init__(
        self,
        store: Store,
        *,
        http: HttpOptions | None = None,
        clock: Clock | None = None,
        on_page: Callable[[PageEvent], None] | None = None,
        connector_factory: ConnectorFactory | None = None,
        workers: int | None = None,
        pipeline_after: int = PIPELINE_AFTER,
        inventory_interval: float = BACKGROUND_INTERVAL,
        holder: str | None = None,
        wait_for_lease: bool = False,
        on_wait: Callable[[InstanceBusy], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or (http.clock if http else SystemClock())
        self.http = http or HttpOptions(clock=self.clock)
        self.on_page = on_page
        self._factory = connector_factory or self._default_factory
        self.workers = default_workers() if workers is None else workers
        self.pipeline_after = pipeline_after
        self.inventory_interval = inventory_interval
        self._states: dict[int, HealthState] = {}  # last health state written, for the log
        self.holder = holder
        self.wait_for_lease = wait_for_lease
        self.on_wait = on_wait

    def _default_factory(self, rec: InstanceRecord, secrets: Mapping[str, str]) -> AppConnector:
        return connector_for(rec, secrets, http=self.http)

    def run_once(self, name: str, *, inventory: bool | None = None) -> RunResult:
        """Fetch every feed of ``name`` until caught up; never raises for API failures.

        Connector errors end the run and are recorded in the instance's health: transient
        ones as DEGRADED (the scheduler retries), the others as ERROR (the user must act).
        Every line logged during the run carries the ``instance`` field.
        The run holds the instance's lease (see :mod:`opencasb.ingest.lease`); when another
        process holds it, the result's error is :class:`~opencasb.errors.InstanceBusy` and
        nothing else happens (health is that process's to write).
        """
        with log_context(instance=name):
            started = self.clock.monotonic()
            log.info("sync run started")
            result = self._run_once(name, inventory=inventory)
            summary = {
                "pages": result.pages,
                "records": result.fetched,
                "inserted": result.inserted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "duration": round(self.clock.monotonic() - started, 3),
            }
            if result.error is None:
                log.info("sync run finished", extra=summary)
            else:
                code = result.error.code or type(result.error).__name__
                log.warning("sync run failed (%s)", code, extra={**summary, "code": code})
        return result

    def _run_once(self, name: str, *, inventory: bool | None) -> RunResult:
        rec = self.store.get_instance(name)
        result = RunResult(instance=name)
        if not rec.enabled:
            health = self.store.get_health(rec.id)
            self._states[rec.id] = health.state
            self._save_health(rec, health_rules.disabled(health))
            return result
        try:
            with hold(
                self.store,
                rec.id,
                name,
                clock=self.clock,
                holder=self.holder,
                wait=self.wait_for_lease,
                on_wait=self.on_wait,
            ) as held:
                self._run_held(rec, result, held, inventory)
        except InstanceBusy as exc:
            result.error = exc
        return result

    def _run_held(
        self, rec: InstanceRecord, result: RunResult, held: Held, inventory: bool | None
    ) -> None:
        # The counts start from the committed rows (no other process writes them while the
        # lease is held); each committed page then adds its own.
        health = health_rules.run_started(
            self.store.get_health(rec.id),
            now=self.clock.now(),
            events_stored=self.store.count_activities(rec.id),
            rejected=self.store.count_rejected(rec.id),
        )
        self._states[rec.id] = health.state
        try:
            connector = self._factory(rec, self.store.instance_secrets(rec))
        except OpenCASBError as exc:
            self._fail(rec, health, exc, result)
            return
        seen = self.store.get_state(rec.id, SERVICES_STATE) or {}
        run = _Run(rec, health, result, connector=connector, services=dict(seen), held=held)
        # The inventory is fetched beside the feeds, giving way to them until they are done
        # (see BackgroundPace); it is stored here after them (the store is this thread's).
        job = None
        pace = BackgroundPace(self.inventory_interval)
        if inventory or (inventory is None and self._inventory_due(rec.id)):
            with log_context(feed="inventory"):  # its requests log with the feed "inventory"
                fetch = carry_context(partial(pace.run, connector.inventory))
            job = Background(fetch, name=f"opencasb-inventory-{rec.name}")
        try:
            self._run_feeds(run, connector)
            pace.release()
            if job is not None:
                inv = job.result()
                held.renew()
                with log_context(feed="inventory"):
                    self._save_inventory(rec.id, inv)
        except InstanceBusy:
            raise  # the lease was lost: the new holder writes health from now on
        except OpenCASBError as exc:
            self._fail(rec, run.health, exc, result)
            return
        except Exception as exc:  # a bug: it must cost this run, not every instance's polling
            ref = new_error_ref()
            log.error("internal error in a sync run", exc_info=exc, extra={"error_ref": ref})
            self._fail(rec, run.health, _internal_error(exc, ref), result)
            return
        finally:
            pace.release()
            if job is not None:
                job.join()  # it uses the connector
            connector.close()
        self._save_health(rec, health_rules.succeeded(run.health, now=self.clock.now()))

    def _run_feeds(self, run: _Run, connector: AppConnector) -> None:
        """Fetch and store every feed until caught up; pages commit in the order fetched.

        When fetching fails, the pages fetched before are committed first (as they would
        have been in this process) and then the failure is raised.
        """
        normalize = connector.normalizer() if self.workers > 0 else None
        pipeline: IngestPipeline[tuple[str, Page]] | None = None
        collector: _PageCollector | None = None
        try:
            for feed in connector.feeds():
                cursor = self.store.get_cursor(run.rec.id, feed.name)
                if cursor is None:
                    cursor = feed.initial_cursor(self.clock.now())
                for page in in_context(feed.fetch(cursor), feed=feed.name):
                    run.fetched += len(page.raw_events)
                    if pipeline is None and normalize is not None and self._backfill(run, page):
                        pipeline = IngestPipeline(self.store, normalize, workers=self.workers)
                        pipeline.start()
                        collector = _PageCollector()
                    # Until the workers are up, pages are stored here; none is in the
                    # pipeline yet, so the order of commits is still the order fetched.
                    if pipeline is None or not pipeline.ready():
                        self._store_page(run, feed.name, connector, page)
                        if collector is not None:
                            collector.page()
                        continue
                    done = pipeline.put(
                        run.rec.id,
                        feed.name,
                        page.raw_events,
                        page.next_cursor,
                        (feed.name, page),
                        quarantine=gap_rejects(page.gaps),
                    )
                    self._account_all(run, done)
                    assert collector is not None
                    collector.page()
            if pipeline is not None:
                self._account_all(run, pipeline.flush())
        except OpenCASBError:
            if pipeline is not None:
                # Commit what was fetched before the failure; a pipeline that failed itself
                # has dropped its pages already, so this commits nothing and raises nothing.
                self._account_all(run, pipeline.flush())
            raise
        finally:
            if pipeline is not None:
                pipeline.close()
            if collector is not None:
                collector.close()

    def _backfill(self, run: _Run, page: Page) -> bool:
        behind = health_rules.behind(page.progress, page.caught_up)
        return behind and run.fetched >= self.pipeline_after

    def _account_all(self, run: _Run, done: Iterable[StoredPage[tuple[str, Page]]]) -> None:
        """Account pages committed together; health is written once, after the last."""
        pages = list(done)
        for stored in pages:
            feed, page = stored.tag
            self._tally(run, feed, page, stored.saved, stored.rejected)
        for feed in dict.fromkeys(stored.tag[0] for stored in pages):
            mine = [s for s in pages if s.tag[0] == feed]
            self._log_commit(feed, [s.tag[1] for s in mine], [(s.saved, s.rejected) for s in mine])
        if pages:
            self._publish(run)

    def _store_page(self, run: _Run, feed: str, connector: AppConnector, page: Page) -> None:
        # A gap is content the API can no longer deliver. It goes into the quarantine beside
        # the unreadable records, in the same transaction as the cursor that moves past it,
        # so it is never skipped silently; health shows the latest one.
        write = page_write(
            connector.normalize,
            run.rec.id,
            feed,
            page.raw_events,
            page.next_cursor,
            quarantine=gap_rejects(page.gaps),
            enricher=self.store.enricher,
        )
        saved = self.store.save_pages([write])[0]
        rejected = write.rejected
        log_rejected(feed, rejected)
        self._log_commit(feed, [page], [(saved, len(rejected))])
        self._account(run, feed, page, saved, len(rejected))

    def _account(self, run: _Run, feed: str, page: Page, saved: SaveResult, rejected: int) -> None:
        """Count a committed page, then write health and report it (after the commit)."""
        self._tally(run, feed, page, saved, rejected)
        self._publish(run)

    def _tally(self, run: _Run, feed: str, page: Page, saved: SaveResult, rejected: int) -> None:
        """Count a committed page into the run's result and health (not yet written)."""
        result = run.result
        result.pages += 1
        result.fetched += len(page.raw_events)
        result.inserted += saved.inserted
        result.duplicates += saved.duplicates
        result.rejected += rejected
        run.health = health_rules.page_stored(
            run.health,
            progress=page.progress,
            caught_up=page.caught_up,
            newest_time=page.newest_time,
            inserted=saved.inserted,
            duplicates=saved.duplicates,
            quarantined=saved.quarantined,  # rows added, as counted at the run's start
            gaps=page.gaps,
            now=self.clock.now(),
        )
        self._note_services(run, page)
        if self.on_page:
            self.on_page(
                PageEvent(run.rec.name, feed, page, saved.inserted, saved.duplicates, rejected)
            )

    def _publish(self, run: _Run) -> None:
        """Keep the lease, then write the run's health (after the pages it counts were
        committed); a run that lost its lease writes no health over its new holder's."""
        if run.held is not None:
            run.held.renew_if_due()
        self._save_health(run.rec, run.health)

    def _save_health(self, rec: InstanceRecord, health: Health) -> None:
        """Write ``health``; log a change of state (old -> new, with the error's code)."""
        self.store.set_health(rec.id, health)
        old = self._states.get(rec.id)
        self._states[rec.id] = health.state
        if old is not health.state:
            err = health.last_error
            failing = health.state in (HealthState.ERROR, HealthState.DEGRADED)
            code = err.code if err is not None and failing else None
            log.info(
                "health %s -> %s",
                old.value if old else "unknown",
                health.state.value,
                extra={
                    "instance": rec.name,
                    "old": old.value if old else None,
                    "state": health.state.value,
                    "code": code,
                },
            )

    @staticmethod
    def _log_commit(feed: str, pages: list[Page], saved: list[tuple[SaveResult, int]]) -> None:
        """One line per page group committed: what it held and where the feed stands."""
        last = pages[-1]
        log.info(
            "%d page(s) committed",
            len(pages),
            extra={
                "feed": feed,
                "pages": len(pages),
                "records": sum(len(p.raw_events) for p in pages),
                "inserted": sum(s.inserted for s, _ in saved),
                "duplicates": sum(s.duplicates for s, _ in saved),
                "rejected": sum(n for _, n in saved),
                "caught_up": last.caught_up,
                "progress": last.progress,
            },
        )

    def _note_services(self, run: _Run, page: Page) -> None:
        """Remember when each service of a suite (Office 365's Exchange, Teams ...) was first
        seen; `opencasb apps` lists a service from then on. Written only when one is new."""
        if run.connector is None:
            return
        new = run.connector.services(page.raw_events) - run.services.keys()
        if new:
            now = self.clock.now().isoformat()
            run.services.update(dict.fromkeys(new, now))
            self.store.set_state(run.rec.id, SERVICES_STATE, dict(run.services))

    def _inventory_due(self, instance_id: int) -> bool:
        mark = self.store.get_state(instance_id, INVENTORY_STATE)
        if not mark or "at" not in mark:
            return True
        at = datetime.fromisoformat(str(mark["at"]))
        return self.clock.now() - at >= INVENTORY_EVERY

    def _save_inventory(self, instance_id: int, inv: Inventory) -> None:
        self.store.replace_inventory(instance_id, inv.accounts, inv.groups)
        log.info(
            "inventory replaced", extra={"accounts": len(inv.accounts), "groups": len(inv.groups)}
        )
        self.store.set_state(instance_id, INVENTORY_STATE, {"at": self.clock.now().isoformat()})

    def _fail(
        self, rec: InstanceRecord, health: Health, exc: OpenCASBError, result: RunResult
    ) -> None:
        result.error = exc
        transient = isinstance(exc, ConnectorError) and exc.transient
        now = self.clock.now()
        self._save_health(
            rec, health_rules.failed(health, exc.info(), transient=transient, now=now)
        )
