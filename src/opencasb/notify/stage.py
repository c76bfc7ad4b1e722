"""The notify stage: alert events from the store's outbox to every notifier, none lost.

For each enabled notifier, one pass (:meth:`NotifyStage.run_notifier`):

1. takes the notifier's lease (another process delivering for it: skip it this time);
2. queues the outbox events after the notifier's cursor that it takes (its events and
   least severity) and moves the cursor, in ONE transaction (:mod:`opencasb.store.deliveries`);
3. sends the queue's head while it is due, in event order, committing each outcome: a
   success deletes the delivery; a failure counts the attempt and schedules the next one
   with exponential backoff (``base * 2**(attempts-1)``, capped), and the pass stops there,
   so a later event never overtakes an earlier one and a receiver that is down is not
   hammered; after ``max_attempts`` attempts, or ``max_hours`` after the first one, the
   delivery becomes a dead letter (kept, retried on demand) and the next event moves up.

At least once: a delivery is deleted only after the receiver took it, so a crash between
the send and the commit sends it again on the next pass (after the lease of the crashed
process runs out), with the same ``event_id`` for the receiver to drop the copy. Every
failed attempt is logged at warning with its reason, a dead letter at error; no message
holds a secret (senders build their texts without them).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opencasb.clock import Clock
from opencasb.errors import ConfigError, OpenCASBError
from opencasb.notify.base import Sender
from opencasb.notify.config import SEVERITIES, Common, parse_config
from opencasb.notify.payload import Entities, Outgoing, entities_of
from opencasb.store import Store
from opencasb.store.deliveries import Delivery
from opencasb.store.notifiers import NotifierRecord
from opencasb.store.outbox import AlertEvent

__all__ = ["NotifyResult", "NotifyStage", "RetryPolicy", "SenderFactory"]

log = logging.getLogger(__name__)

SenderFactory = Callable[[NotifierRecord, dict[str, str], Clock], Sender]
MAX_EVIDENCE_READ = 200  # evidence activities read to name an alert's entities


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts and when a delivery becomes a dead letter."""

    base: float = 30.0
    cap: float = 3600.0
    max_attempts: int = 10
    max_age: timedelta = timedelta(hours=24)

    @classmethod
    def of(cls, config: Common) -> RetryPolicy:
        return cls(max_attempts=config.max_attempts, max_age=timedelta(hours=config.max_hours))

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (30 s, 1 min, 2 min ...)."""
        return float(min(self.cap, self.base * 2.0 ** max(attempts - 1, 0)))

    def is_dead(self, attempts: int, first: datetime, now: datetime) -> bool:
        return attempts >= self.max_attempts or now - first >= self.max_age


@dataclass(slots=True)
class NotifyResult:
    """What a pass did: events queued, delivered, failed attempts, new dead letters,
    notifiers skipped because another process held them, notifiers whose stored
    settings no longer load (logged), and old outbox events deleted (see ``prune_every``)."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    busy: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    pruned: int = 0

    def add(self, other: NotifyResult) -> None:
        self.queued += other.queued
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.busy += other.busy
        self.broken += other.broken
        self.pruned += other.pruned


def _default_senders(rec: NotifierRecord, secrets: dict[str, str], clock: Clock) -> Sender:
    from opencasb.notify.senders import make_sender

    return make_sender(rec, secrets, clock)


class NotifyStage:
    """Delivers the outbox to the notifiers (see module doc).

    Args:
        store: the store (notifiers, outbox, queues; evidence activities for entities).
        clock: decides when attempts are due; tests inject a FakeClock.
        senders: makes a notifier's sender (tests inject receivers' transports).
        holder: this process's lease name (default: random, per stage).
        lease: how long a lease lasts without a commit (a crashed holder's notifier waits
            this long).
        max_per_pass: deliveries per notifier per pass, so the sync loop moves on.
        keep_events: how long delivered events stay in the outbox (for a new notifier's
            ``--replay``; events a notifier still needs stay however old).
        prune_every: how often a pass deletes the events older than ``keep_events`` (the
            first pass does; then one pass per this long). The DELETE scans the outbox under
            the write lock, and the sync loop runs a pass after every poll: events live at
            most ``keep_events + prune_every``. Keep one stage for the loop's passes.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        senders: SenderFactory = _default_senders,
        holder: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        max_per_pass: int = 500,
        keep_events: timedelta = timedelta(days=30),
        prune_every: timedelta = timedelta(hours=1),
    ) -> None:
        self._store = store
        self._notes = store.notifications
        self._clock = clock
        self._senders = senders
        self._holder = holder or f"{os.getpid()}@{socket.gethostname()}/{uuid.uuid4().hex[:8]}"
        self._lease = lease
        self._max = max_per_pass
        self._keep = keep_events
        self._prune_every = prune_every
        self._next_prune: datetime | None = None  # None: the next pass prunes

    def run_once(self) -> NotifyResult:
        """One pass over every enabled notifier, then, if due (``prune_every``), the outbox's
        old events that no notifier needs any more are deleted (kept ``keep_events`` long,
        for ``--replay``)."""
        total = NotifyResult()
        for rec in self._notes.all():
            if not rec.enabled:
                continue
            try:
                total.add(self.run_notifier(rec))
            except ConfigError as exc:  # its stored settings: the other notifiers go on
                log.error("notifier %s is misconfigured: %s (%s)", rec.name, exc, exc.fix)
                total.broken.append(rec.name)
        total.pruned = self._prune()
        return total

    def _prune(self) -> int:
        now = self._clock.now()
        if self._next_prune is not None and now < self._next_prune:
            return 0
        self._next_prune = now + self._prune_every
        return self._notes.prune_events(now - self._keep)

    def run_notifier(self, rec: NotifierRecord) -> NotifyResult:
        """One pass for one notifier (see module doc)."""
        result = NotifyResult()
        now = self._clock.now()
        if not self._notes.acquire_lease(rec.id, self._holder, now, self._lease):
            result.busy.append(rec.name)
            return result
        try:
            config = parse_config(rec.kind, rec.config)
            result.queued = self._enqueue(rec, config)
            self._deliver(rec, config, result)
        finally:
            self._notes.release_lease(rec.id, self._holder)
        return result

    def _enqueue(self, rec: NotifierRecord, config: Common) -> int:
        least = SEVERITIES.index(config.min_severity)

        def accept(e: AlertEvent) -> bool:
            sev = str(e.alert.get("severity"))
            rank = SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)
            return e.kind in config.events and rank >= least

        cursor, queued = rec.cursor, 0
        while True:
            moved = self._notes.enqueue(rec.id, cursor, self._clock.now(), accept=accept)
            if moved is None or moved[0] == cursor:  # another process moved it, or caught up
                return queued
            cursor, queued = moved[0], queued + moved[1]

    def _deliver(self, rec: NotifierRecord, config: Common, result: NotifyResult) -> None:
        policy = RetryPolicy.of(config)
        sender: Sender | None = None
        try:
            for _ in range(self._max):
                head = self._notes.head(rec.id)
                now = self._clock.now()
                if head is None or head.next_attempt_at > now:
                    return
                try:
                    if sender is None:
                        sender = self._senders(rec, self._notes.secrets(rec), self._clock)
                    answer = sender.send(Outgoing(head.event, self._entities(head.event)))
                except OpenCASBError as exc:
                    self._failed(rec, head, policy, exc, result)
                    return
                if not self._notes.record_success(head, self._holder, now, now + self._lease):
                    return  # the lease ran out meanwhile: another process goes on from here
                result.delivered += 1
                log.info(
                    "alert event delivered",
                    extra={"notifier": rec.name, "event": head.event.id, "answer": answer},
                )
        finally:
            if sender is not None:
                sender.close()

    def _failed(
        self,
        rec: NotifierRecord,
        d: Delivery,
        policy: RetryPolicy,
        exc: OpenCASBError,
        result: NotifyResult,
    ) -> None:
        now = self._clock.now()
        attempts = d.attempts + 1
        dead = policy.is_dead(attempts, d.first_attempt_at or now, now)
        delay = policy.delay(attempts)
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            delay = max(delay, min(float(asked), policy.cap))
        error = str(exc)
        if not self._notes.record_failure(
            d,
            self._holder,
            now,
            now + self._lease,
            error=error,
            next_attempt_at=now + timedelta(seconds=delay),
            dead=dead,
        ):
            return
        fields = {
            "notifier": rec.name,
            "event": d.event.id,
            "alert": d.event.alert_id,
            "attempt": attempts,
            "code": exc.code,
        }
        if dead:
            result.dead += 1
            log.error(
                "alert event %d to %s dead-lettered after %d attempts: %s; "
                "'opencasb notifiers dead-letters retry' sends it again",
                d.event.id,
                rec.name,
                attempts,
                error,
                extra=fields,
            )
            return
        result.failed += 1
        log.warning(
            "delivery of alert event %d to %s failed (attempt %d): %s; retrying in %.0f s",
            d.event.id,
            rec.name,
            attempts,
            error,
            delay,
            extra={**fields, "delay": delay},
        )

    def _entities(self, event: AlertEvent) -> Entities:
        ids = [int(i) for i in (event.alert.get("evidence") or [])][:MAX_EVIDENCE_READ]
        found = self._store.detection.activities_by_id(ids) if ids else {}
        return entities_of(event.alert, (found[i] for i in ids if i in found))
