"""Poll every enabled instance on its interval, backing off while an instance fails."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from opencasb.clock import Clock
from opencasb.errors import StoreError
from opencasb.ingest.runner import IngestRunner, RunResult
from opencasb.model import Health, HealthState

if TYPE_CHECKING:
    from opencasb.store import InstanceRecord

__all__ = ["PRUNE_EVERY", "Scheduler", "next_due"]

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=15)
PRUNE_EVERY = timedelta(hours=1)
"""How often the polling loop deletes activities past the retention period."""
NEEDS_USER_RETRY = timedelta(
    minutes=10
)  # an ERROR may be fixed on the app's side; look now and then


def next_due(rec: InstanceRecord, health: Health) -> datetime | None:
    """When ``rec`` should next be polled; None when it is disabled.

    Healthy instances poll every ``interval_seconds``; degraded ones back off exponentially
    (interval × 2^failures, at most 15 minutes); ones in ERROR are retried every 10 minutes.
    """
    if not rec.enabled:
        return None
    if health.last_attempt is None:
        return datetime.min.replace(tzinfo=UTC)
    interval = timedelta(seconds=rec.interval_seconds)
    if health.state is HealthState.ERROR:
        return health.last_attempt + max(interval, NEEDS_USER_RETRY)
    if health.state is HealthState.DEGRADED:
        backoff: timedelta = interval * int(2 ** min(health.consecutive_failures - 1, 10))
        return health.last_attempt + min(backoff, MAX_BACKOFF)
    if health.state is HealthState.BACKFILLING:
        return health.last_attempt  # a backfill interrupted mid-way resumes at once
    return health.last_attempt + interval


class Scheduler:
    """Runs due instances one after another until ``stop`` is set.

    One thread is enough here: each run is I/O bound and paced by the API's own limits, and
    runs of different instances interleave at page granularity only in later versions.
    """

    def __init__(
        self,
        runner: IngestRunner,
        clock: Clock,
        *,
        stop: threading.Event | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        tick: float = 1.0,
        only: set[str] | None = None,
        retention_days: int = 0,
    ) -> None:
        self.runner = runner
        self.store = runner.store
        self.clock = clock
        self.stop = stop or threading.Event()
        self.on_result = on_result
        self.tick = tick
        self.only = only
        self.retention_days = retention_days
        self._next_prune: datetime | None = None

    def _instances(self) -> list[InstanceRecord]:
        recs = self.store.list_instances()
        return [r for r in recs if self.only is None or r.name in self.only]

    def run_due(self) -> list[RunResult]:
        """Run every instance that is due now; return their results."""
        results = []
        for rec in self._instances():
            if self.stop.is_set():
                break
            due = next_due(rec, rec.health)
            if due is not None and due <= self.clock.now():
                result = self.runner.run_once(rec.name)
                results.append(result)
                if self.on_result:
                    self.on_result(result)
        return results

    def seconds_until_next(self) -> float:
        dues = [next_due(r, r.health) for r in self._instances()]
        pending = [d for d in dues if d is not None]
        if not pending:
            return self.tick
        return max(0.0, (min(pending) - self.clock.now()).total_seconds())

    def prune_if_due(self) -> int:
        """Delete activities older than ``retention_days`` (0: keep everything), at most
        once per :data:`PRUNE_EVERY`; returns how many. The store prunes in short batches,
        so a concurrent ingest is never held up for long; a failed prune is logged and
        tried again at the next interval, polling goes on."""
        if self.retention_days <= 0:
            return 0
        now = self.clock.now()
        if self._next_prune is not None and now < self._next_prune:
            return 0
        self._next_prune = now + PRUNE_EVERY
        try:
            deleted = self.store.prune_activities(self.retention_days, now=now)
        except StoreError:
            log.warning("pruning old activities failed", exc_info=True)
            return 0
        if deleted:
            log.info(
                "pruned old activities",
                extra={"deleted": deleted, "retention_days": self.retention_days},
            )
        return deleted

    def run_forever(self) -> None:
        """Loop until ``stop`` is set, sleeping in short ticks so Ctrl-C is prompt."""
        log.info("polling started", extra={"instances": len(self._instances())})
        try:
            while not self.stop.is_set():
                self.prune_if_due()
                self.run_due()
                wait = min(self.seconds_until_next(), self.tick)
                if wait > 0 and not self.stop.is_set():
                    self.clock.sleep(wait)
        finally:
            log.info("polling stopped")
