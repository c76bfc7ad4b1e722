"""The notifiers' part of the store bound to one database: ``store.notifications``.

Notifier settings and secrets live in :mod:`opencasb.store.notifiers`, the outbox of alert
events in :mod:`opencasb.store.outbox`, the per-notifier queues and dead letters in
:mod:`opencasb.store.deliveries`; this class only binds them to the store's database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from opencasb.store import deliveries as _deliveries
from opencasb.store import notifiers as _notifiers
from opencasb.store import outbox as _outbox
from opencasb.store._db import Database
from opencasb.store.deliveries import Delivery
from opencasb.store.notifiers import NotifierRecord
from opencasb.store.outbox import AlertEvent

__all__ = ["AlertEvent", "Delivery", "NotificationStore", "NotifierRecord"]


class NotificationStore:
    """See the modules named above for each method's contract."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def clock_now(self) -> datetime:
        return self._db.clock.now()

    def add(
        self,
        kind: str,
        name: str,
        config: dict[str, Any],
        secrets: dict[str, str],
        *,
        replay: bool = False,
    ) -> NotifierRecord:
        return _notifiers.add_notifier(self._db, kind, name, config, secrets, replay=replay)

    def get(self, name: str) -> NotifierRecord:
        return _notifiers.get_notifier(self._db, name)

    def all(self) -> list[NotifierRecord]:
        return _notifiers.list_notifiers(self._db)

    def set_enabled(self, name: str, enabled: bool) -> None:
        _notifiers.set_notifier_enabled(self._db, name, enabled)

    def remove(self, name: str) -> None:
        _notifiers.remove_notifier(self._db, name)

    def secrets(self, record: NotifierRecord) -> dict[str, str]:
        return _notifiers.notifier_secrets(self._db, record)

    def acquire_lease(self, notifier_id: int, holder: str, now: datetime, ttl: timedelta) -> bool:
        return _notifiers.acquire_lease(self._db, notifier_id, holder, now, ttl)

    def release_lease(self, notifier_id: int, holder: str) -> None:
        _notifiers.release_lease(self._db, notifier_id, holder)

    def events_after(self, cursor: int, limit: int) -> list[AlertEvent]:
        return _outbox.events_after(self._db, cursor, limit)

    def prune_events(self, before: datetime) -> int:
        return _outbox.prune_events(self._db, before)

    def enqueue(
        self,
        notifier_id: int,
        cursor: int,
        now: datetime,
        *,
        accept: Callable[[AlertEvent], bool],
        limit: int = 500,
    ) -> tuple[int, int] | None:
        return _deliveries.enqueue(self._db, notifier_id, cursor, now, accept=accept, limit=limit)

    def head(self, notifier_id: int) -> Delivery | None:
        return _deliveries.head(self._db, notifier_id)

    def record_success(
        self, d: Delivery, holder: str, now: datetime, lease_until: datetime
    ) -> bool:
        return _deliveries.record_success(self._db, d, holder, now, lease_until)

    def record_failure(
        self,
        d: Delivery,
        holder: str,
        now: datetime,
        lease_until: datetime,
        *,
        error: str,
        next_attempt_at: datetime,
        dead: bool,
    ) -> bool:
        return _deliveries.record_failure(
            self._db,
            d,
            holder,
            now,
            lease_until,
            error=error,
            next_attempt_at=next_attempt_at,
            dead=dead,
        )

    def dead_letters(self, notifier_id: int | None = None) -> list[Delivery]:
        return _deliveries.dead_letters(self._db, notifier_id)

    def retry_dead(
        self, now: datetime, *, ids: Sequence[int] = (), notifier_id: int | None = None
    ) -> int:
        return _deliveries.retry_dead(self._db, now, ids=ids, notifier_id=notifier_id)

    def queue_counts(self) -> dict[int, dict[str, int]]:
        return _deliveries.queue_counts(self._db)
