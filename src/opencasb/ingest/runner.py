"""The ingest runner: fetch a page, normalize it, store it with its cursor, repeat.

The runner owns the only write path from a connector to the store. Each page's activities,
its quarantined records and the feed's next cursor are committed in ONE transaction
(``Store.save_page``), so a crash at any moment either keeps a page and its cursor or neither;
a restart re-reads at most one page, and the store drops the duplicates. Health is written
after each page, separately, because it is advisory and must never roll data back.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opencasb.apps.base import AppConnector, HttpOptions, Page, load_app
from opencasb.clock import Clock, SystemClock
from opencasb.errors import ConnectorError, NormalizeError, OpenCASBError
from opencasb.model import Activity, Health, HealthState

if TYPE_CHECKING:
    from opencasb.store import InstanceRecord, Store

__all__ = ["IngestRunner", "PageEvent", "RunResult"]

INVENTORY_EVERY = timedelta(hours=6)


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


ConnectorFactory = Callable[["InstanceRecord", Mapping[str, str]], AppConnector]


class IngestRunner:
    """Runs the feeds of connected app instances into the store.

    Args:
        store: where activities, cursors and health go.
        http: transport/TLS/clock options handed to every connector.
        clock: time for health and lag.
        on_page: called after each stored page (progress bars).
        connector_factory: builds a connector for an instance (tests inject one).
    """

    def __init__(
        self,
        store: Store,
        *,
        http: HttpOptions | None = None,
        clock: Clock | None = None,
        on_page: Callable[[PageEvent], None] | None = None,
        connector_factory: ConnectorFactory | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or (http.clock if http else SystemClock())
        self.http = http or HttpOptions(clock=self.clock)
        self.on_page = on_page
        self._factory = connector_factory or self._default_factory

    def _default_factory(self, rec: InstanceRecord, secrets: Mapping[str, str]) -> AppConnector:
        return load_app(rec.app)(rec.config, secrets, http=self.http)

    def connector(self, name: str) -> AppConnector:
        """A connector for the named instance, with its secrets decrypted."""
        rec = self.store.get_instance(name)
        return self._factory(rec, self.store.instance_secrets(rec))

    def run_once(self, name: str, *, inventory: bool | None = None) -> RunResult:
        """Fetch every feed of ``name`` until caught up; never raises for API failures.

        Connector errors end the run and are recorded in the instance's health: transient
        ones as DEGRADED (the scheduler retries), the others as ERROR (the user must act).
        """
        rec = self.store.get_instance(name)
        result = RunResult(instance=name)
        health = self.store.get_health(rec.id)
        if not rec.enabled:
            self.store.set_health(rec.id, dataclasses.replace(health, state=HealthState.DISABLED))
            return result
        health = dataclasses.replace(health, last_attempt=self.clock.now())
        try:
            connector = self._factory(rec, self.store.instance_secrets(rec))
        except OpenCASBError as exc:
            self._fail(rec, health, exc, result)
            return result
        try:
            for feed in connector.feeds():
                cursor = self.store.get_cursor(rec.id, feed.name)
                if cursor is None:
                    cursor = feed.initial_cursor(self.clock.now())
                for page in feed.fetch(cursor):
                    health = self._store_page(rec, feed.name, connector, page, health, result)
            if inventory or (inventory is None and self._inventory_due(rec.id)):
                self._sync_inventory(rec.id, connector)
        except OpenCASBError as exc:
            self._fail(rec, health, exc, result)
            return result
        finally:
            connector.close()
        now = self.clock.now()
        newest = health.newest_event
        self.store.set_health(
            rec.id,
            dataclasses.replace(
                health,
                state=HealthState.CONNECTED,
                progress=None,
                last_success=now,
                lag_seconds=(now - newest).total_seconds() if newest else None,
                consecutive_failures=0,
            ),
        )
        return result

    def _store_page(
        self,
        rec: InstanceRecord,
        feed: str,
        connector: AppConnector,
        page: Page,
        health: Health,
        result: RunResult,
    ) -> Health:
        activities, rejected = normalize_all(connector.normalize, page.raw_events)
        saved = self.store.save_page(rec.id, feed, activities, page.next_cursor, rejected=rejected)
        result.pages += 1
        result.fetched += len(page.raw_events)
        result.inserted += saved.inserted
        result.duplicates += saved.duplicates
        result.rejected += len(rejected)
        newest = health.newest_event
        if page.newest_time and (newest is None or page.newest_time > newest):
            newest = page.newest_time
        behind = not page.caught_up and (page.progress or 0.0) < 0.999
        health = dataclasses.replace(
            health,
            state=HealthState.BACKFILLING if behind else HealthState.CONNECTED,
            progress=page.progress if behind else None,
            newest_event=newest,
            events_stored=health.events_stored + saved.inserted,
            duplicates_dropped=health.duplicates_dropped + saved.duplicates,
            rejected=health.rejected + len(rejected),
        )
        self.store.set_health(rec.id, health)
        if self.on_page:
            self.on_page(
                PageEvent(rec.name, feed, page, saved.inserted, saved.duplicates, len(rejected))
            )
        return health

    def _inventory_due(self, instance_id: int) -> bool:
        mark = self.store.get_cursor(instance_id, "inventory")
        if not mark or "at" not in mark:
            return True
        at = datetime.fromisoformat(str(mark["at"]))
        return self.clock.now() - at >= INVENTORY_EVERY

    def _sync_inventory(self, instance_id: int, connector: AppConnector) -> None:
        inv = connector.inventory()
        self.store.replace_inventory(instance_id, inv.accounts, inv.groups)
        self.store.save_page(instance_id, "inventory", [], {"at": self.clock.now().isoformat()})

    def _fail(
        self, rec: InstanceRecord, health: Health, exc: OpenCASBError, result: RunResult
    ) -> None:
        result.error = exc
        transient = isinstance(exc, ConnectorError) and exc.transient
        self.store.set_health(
            rec.id,
            dataclasses.replace(
                health,
                state=HealthState.DEGRADED if transient else HealthState.ERROR,
                consecutive_failures=health.consecutive_failures + 1,
                last_error=exc.info(),
                last_error_at=self.clock.now(),
            ),
        )


def normalize_all(
    normalize: Callable[[Mapping[str, Any]], Activity], raws: Sequence[Any]
) -> tuple[list[Activity], list[tuple[Any, str]]]:
    """Normalize a page; a record that fails is quarantined with its error, never dropped."""
    # A page allocates tens of thousands of small objects that all live until it is stored,
    # so the cyclic collector would only re-scan them and promote them into costly full
    # collections (measured: ~8% of ingest time). They form no cycles, so reference counting
    # frees them anyway; collection resumes when the page is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _normalize_page(normalize, raws)
    finally:
        if collecting:
            gc.enable()


def _normalize_page(
    normalize: Callable[[Mapping[str, Any]], Activity], raws: Sequence[Any]
) -> tuple[list[Activity], list[tuple[Any, str]]]:
    activities: list[Activity] = []
    rejected: list[tuple[Any, str]] = []
    for raw in raws:
        if not isinstance(raw, Mapping):
            rejected.append((raw, f"not a JSON object but {type(raw).__name__}"))
            continue
        try:
            activities.append(normalize(raw))
        except NormalizeError as exc:
            rejected.append((raw, str(exc)))
        except Exception as exc:  # a normalizer bug must cost one record, not the page
            rejected.append((raw, f"normalizer failed: {type(exc).__name__}: {exc}"))
    return activities, rejected
