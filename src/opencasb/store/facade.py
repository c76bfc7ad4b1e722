"""The :class:`Store`: one object through which the rest of OpenCASB reads and writes.

It is a facade; each concern lives in its own module (instances, activities, query, export,
inventory) as functions over a shared :class:`~opencasb.store._db.Database`. Obtain one with
:func:`opencasb.store.open_store`. A Store is safe to share between threads (each call takes
its own pooled connection and transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import Engine

from opencasb.enrich.enricher import Enricher, Enrichment
from opencasb.model.activity import Activity
from opencasb.model.health import Health
from opencasb.model.inventory import Account, Group
from opencasb.store import activities as _activities
from opencasb.store import connector_state as _state
from opencasb.store import enrichment as _enrichment
from opencasb.store import export as _export
from opencasb.store import instances as _instances
from opencasb.store import inventory as _inventory
from opencasb.store import leases as _leases
from opencasb.store import query as _query
from opencasb.store import reenrich as _reenrich
from opencasb.store import rejected as _rejected
from opencasb.store import retention as _retention
from opencasb.store._db import Database
from opencasb.store.activities import PageWrite, SaveResult
from opencasb.store.detection import DetectionStore
from opencasb.store.instances import InstanceRecord
from opencasb.store.inventory_pages import InventoryPages
from opencasb.store.iptags import IpTagStore
from opencasb.store.leases import Lease
from opencasb.store.notifications import NotificationStore
from opencasb.store.portal import PortalStore
from opencasb.store.query import ActivityPage, ActivityQuery
from opencasb.store.reenrich import EnrichProgress
from opencasb.store.rejected import RejectedRecord

__all__ = ["Store"]


class Store:
    """Persistent state of OpenCASB: app instances, cursors, activities, inventory, health.

    Every method raises :class:`~opencasb.errors.StoreError` when the database fails.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._enricher: Enricher | None = None
        self._default: tuple[int, Enricher] | None = None
        self.enricher_source: Callable[[], Enricher] | None = None
        """Gives :attr:`enricher` when none was set: the CLI sets one built from the
        settings' MaxMind files and the stored IP tags (opencasb.enrich.stored)."""

    @property
    def enricher(self) -> Enricher:
        """What ingest enriches each activity with before storing it (and detection takes
        current IP tags from): the one set, else the :attr:`enricher_source`'s, else the
        built-in database with the stored IP ranges (reloaded when their version moves).

        Raises:
            ConfigError: the source could not build it (a configured MaxMind file is
                missing or unreadable). StoreError: the ranges cannot be read.
        """
        if self._enricher is not None:
            return self._enricher
        if self.enricher_source is not None:
            return self.enricher_source()
        version = self.ip_tags.version()
        if self._default is None or self._default[0] != version:
            ranges, version = self.ip_tags.ranges()
            base = self._default[1] if self._default is not None else Enricher()
            self._default = (version, base.with_ip_ranges(ranges))
        return self._default[1]

    @enricher.setter
    def enricher(self, value: Enricher) -> None:
        self._enricher = value

    def stored_enrichments(self, ids: Sequence[int]) -> dict[int, Enrichment | None]:
        """The enrichment stored with each of the activities ``ids`` (None: not enriched
        yet); see :mod:`opencasb.store.enrichment`."""
        return _enrichment.stored_enrichments(self._db, ids)

    def enrich_progress(self, enricher: Enricher) -> EnrichProgress:
        """Where ``opencasb enrich --all`` with ``enricher`` would resume (store.reenrich)."""
        return _reenrich.enrich_progress(self._db, enricher)

    def enrich_batch(self, enricher: Enricher, batch: int = 5000) -> EnrichProgress:
        """Enrich the next ``batch`` stored activities again, in one transaction with the
        cursor; see :mod:`opencasb.store.reenrich`."""
        return _reenrich.enrich_batch(self._db, enricher, batch)

    def enrichments_of_events(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Enrichment | None]:
        """The enrichment stored with activities named by ``(instance name, source event
        id)`` (None: not enriched yet; absent: no such activity)."""
        return _enrichment.enrichments_of_events(self._db, keys)

    @property
    def detection(self) -> DetectionStore:
        """Policies, stage cursors and state, alerts (see :mod:`opencasb.store.detection`)."""
        return DetectionStore(self._db)

    @property
    def inventory(self) -> InventoryPages:
        """Accounts, people and groups of every instance, keyset-paged (store.inventory_pages)."""
        return InventoryPages(self._db)

    @property
    def portal(self) -> PortalStore:
        """The web portal's users, sessions, API tokens and audit trail (store.portal)."""
        return PortalStore(self._db)

    @property
    def notifications(self) -> NotificationStore:
        """Notifiers, the alert-event outbox, delivery queues and dead letters."""
        return NotificationStore(self._db)

    @property
    def ip_tags(self) -> IpTagStore:
        """The user's tagged IP ranges and their set's version (see store.iptags)."""
        return IpTagStore(self._db)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for other components' tables and for tests)."""
        return self._db.engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.engine.dialect.name

    def close(self) -> None:
        """Stop background work and release all pooled connections. The Store must not be
        used afterwards."""
        if self._db.checkpointer is not None:
            self._db.checkpointer.close()
        self._db.engine.dispose()

    # -- instances -----------------------------------------------------------------------

    def add_instance(
        self,
        app: str,
        name: str,
        config: dict[str, str],
        secrets: dict[str, str],
        *,
        interval_seconds: int = 60,
        enabled: bool = True,
    ) -> InstanceRecord:
        """Register a connected app instance; ``secrets`` are encrypted with the master key.

        Raises:
            ConfigError: the name is taken or empty, the interval is below 1 s, or no master
                key is configured.
        """
        return _instances.add_instance(
            self._db, app, name, config, secrets, interval_seconds=interval_seconds, enabled=enabled
        )

    def get_instance(self, name: str) -> InstanceRecord:
        """The instance called ``name``. Raises NotFound."""
        return _instances.get_instance(self._db, name)

    def list_instances(self) -> list[InstanceRecord]:
        """All instances, ordered by name."""
        return _instances.list_instances(self._db)

    def update_instance(
        self,
        name: str,
        *,
        config: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        enabled: bool | None = None,
        interval_seconds: int | None = None,
    ) -> InstanceRecord:
        """Change the given fields (``config`` and ``secrets`` are replaced whole).

        Returns the updated record. Raises NotFound, or ConfigError for a bad interval.
        """
        return _instances.update_instance(
            self._db,
            name,
            config=config,
            secrets=secrets,
            enabled=enabled,
            interval_seconds=interval_seconds,
        )

    def remove_instance(self, name: str) -> None:
        """Delete an instance with its cursors, activities, actors, rejects and inventory.
        NotFound."""
        _instances.remove_instance(self._db, name)

    def instance_secrets(self, rec: InstanceRecord) -> dict[str, str]:
        """Decrypt the secrets of ``rec``.

        Raises:
            ConfigError: the master key is missing or differs from the one that encrypted
                them (fix: restore the key, or ``opencasb apps edit NAME --new-secret``).
        """
        return _instances.instance_secrets(self._db, rec)

    def set_health(self, instance_id: int, health: Health) -> None:
        """Replace the stored health of an instance. Raises NotFound."""
        _instances.set_health(self._db, instance_id, health)

    def get_health(self, instance_id: int) -> Health:
        """The stored health of an instance (default Health until first set). NotFound."""
        return _instances.get_health(self._db, instance_id)

    # -- leases --------------------------------------------------------------------------

    def acquire_lease(
        self, instance_id: int, holder: str, ttl: timedelta, *, dead: str | None = None
    ) -> Lease | None:
        """Take the instance's sync lease for ``holder`` (free, expired or already its own)
        until now + ``ttl``; ``None`` on success, else the Lease another holder has.
        Atomic on both engines (see :mod:`opencasb.store.leases`)."""
        return _leases.acquire(self._db, instance_id, holder, ttl, dead=dead)

    def renew_lease(self, instance_id: int, holder: str, ttl: timedelta) -> bool:
        """Extend ``holder``'s lease to now + ``ttl``; False when it was lost meanwhile."""
        return _leases.renew(self._db, instance_id, holder, ttl)

    def release_lease(self, instance_id: int, holder: str) -> None:
        """Drop ``holder``'s lease of the instance (a lease another holds is left alone)."""
        _leases.release(self._db, instance_id, holder)

    def current_lease(self, instance_id: int) -> Lease | None:
        """The instance's unexpired lease, or None."""
        return _leases.current(self._db, instance_id)

    # -- ingest --------------------------------------------------------------------------

    def get_cursor(self, instance_id: int, feed: str) -> dict[str, Any] | None:
        """The feed's committed cursor, or ``None`` if no page was ever saved."""
        return _activities.get_cursor(self._db, instance_id, feed)

    def save_pages(self, writes: Sequence[PageWrite]) -> list[SaveResult]:
        """Store pages, in order, in ONE transaction: each page's rows, quarantined records
        and the feed's new cursor (the one write path of ingest and imports).

        All or nothing: either every page is committed with its cursor or none is (a cursor
        never moves past activities that were not stored). Activities already stored for
        the instance with the same ``source_event_id`` -- from an earlier page or earlier in
        this one -- are skipped and counted as duplicates. A bulk backfill commits its pages
        in groups (see :mod:`opencasb.ingest.pipeline`); build a page of activities with
        :meth:`PageWrite.of`.

        Returns:
            One SaveResult per page, in order.

        Raises:
            StoreError: the database failed; nothing is stored.
        """
        return _activities.save_pages(self._db, writes)

    def list_rejected(
        self,
        *,
        instance_id: int | None = None,
        feed: str | None = None,
        ids: Sequence[int] = (),
        limit: int | None = 50,
        before: tuple[datetime, int] | None = None,
    ) -> list[RejectedRecord]:
        """Quarantined records, newest first (received time, then id), of one instance and
        feed or all; ``before`` = (received_at, id) of the last one seen, to go on after
        it; ``ids`` keeps only those; ``limit`` None: all."""
        return _rejected.list_rejected(
            self._db, instance_id=instance_id, feed=feed, ids=ids, limit=limit, before=before
        )

    def get_rejected(self, record_id: int) -> RejectedRecord:
        """One quarantined record by id. Raises NotFound."""
        return _rejected.get_rejected(self._db, record_id)

    def get_state(self, instance_id: int, key: str) -> dict[str, Any] | None:
        """The connector state saved under ``key`` for an instance (the services seen, the
        inventory's last fetch), or ``None``; see :mod:`opencasb.store.connector_state`."""
        return _state.get_state(self._db, instance_id, key)

    def set_state(self, instance_id: int, key: str, value: dict[str, Any]) -> None:
        """Save connector state under ``key`` for an instance, replacing what was there."""
        _state.set_state(self._db, instance_id, key, value)

    def count_activities(self, instance_id: int | None = None) -> int:
        """Stored activities of one instance, or of all when ``instance_id`` is None."""
        return _activities.count_activities(self._db, instance_id)

    def count_rejected(self, instance_id: int) -> int:
        """Records of an instance quarantined in ``rejected_records``."""
        return _activities.rejected_count(self._db, instance_id)

    def activity_ids(self, instance_id: int) -> set[str]:
        """Source event ids stored for an instance."""
        return _activities.activity_ids(self._db, instance_id)

    def newest_activity_time(self, instance_id: int) -> datetime | None:
        """Time of the instance's newest stored activity, or None."""
        return _activities.newest_activity_time(self._db, instance_id)

    def prune_activities(
        self, retention_days: int, *, now: datetime | None = None, batch_size: int = 5000
    ) -> int:
        """Delete activities more than ``retention_days`` days older than ``now`` (default:
        the store's clock), ``batch_size`` rows per transaction so that ingest is never
        blocked for long; returns how many. 0 days keeps everything.

        Raises:
            ConfigError: negative days, batch size below 1, or a naive ``now``.
        """
        return _retention.prune_older_than(self._db, retention_days, now=now, batch_size=batch_size)

    # -- query and export ------------------------------------------------------------------

    def query_activities(self, q: ActivityQuery) -> ActivityPage:
        """One page of activities matching ``q``, newest first (time, then id).

        Raises:
            ConfigError: a malformed ``after`` token, IP filter, outcome or limit.
            NotFound: ``q.instance`` names no instance.
            StoreError: a matching row is damaged (the message names its id).
        """
        return _query.query_activities(self._db, q)

    def iter_activities(self, q: ActivityQuery, *, batch_size: int = 1000) -> Iterator[Activity]:
        """Every activity matching ``q`` (``limit`` ignored), streamed in batches."""
        return _export.iter_activities(self._db, q, batch_size=batch_size)

    def write_csv(self, q: ActivityQuery, fp: TextIO, *, max_rows: int | None = None) -> int:
        """Export matches as CSV (flat columns, targets joined by "; "); returns the row count."""
        return _export.write_csv(self._db, q, fp, max_rows=max_rows)

    def write_jsonl(self, q: ActivityQuery, fp: TextIO, *, max_rows: int | None = None) -> int:
        """Export matches as JSON Lines, one full activity (with raw) per line; returns count."""
        return _export.write_jsonl(self._db, q, fp, max_rows=max_rows)

    # -- inventory ---------------------------------------------------------------------------

    def replace_inventory(
        self, instance_id: int, accounts: Sequence[Account], groups: Sequence[Group]
    ) -> None:
        """Replace the instance's accounts and groups, in one transaction."""
        _inventory.replace_inventory(self._db, instance_id, accounts, groups)

    def list_accounts(self, instance_id: int) -> list[Account]:
        """The instance's accounts, ordered by id."""
        return _inventory.list_accounts(self._db, instance_id)

    def list_groups(self, instance_id: int) -> list[Group]:
        """The instance's groups with member ids, ordered by group id."""
        return _inventory.list_groups(self._db, instance_id)
