"""Fault injection and publication timing for the Office 365 emulator.

All randomness comes from one seeded :class:`random.Random`: the same seed and the same request
sequence fail in the same places and publish records at the same times. ``Faults`` is a plain
mutable dataclass; change its fields while the emulator runs.

Publication delay is not a fault — the real service publishes blobs 60-90 minutes after the
events in them (research §1.6, §2.6) — but it lives here because it is drawn from the same
generator. ``late_fraction`` adds the hours-late blobs the FAQ warns about.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["FaultDecision", "FaultInjector", "Faults"]


@dataclass(slots=True)
class Faults:
    """What to break, and how often. The defaults break nothing."""

    error_500_rate: float = 0.0  # probability of a 500 (AF50000 / Graph generalException)
    error_503_rate: float = 0.0  # probability of a 503 (transient back-end outage)
    burst_429_every: int = 0  # every N API requests ...
    burst_429_length: int = 0  # ... the last K of them are throttled even under budget
    latency_seconds: float = 0.0  # added to every request
    latency_mode: Literal["clock", "real"] = "clock"  # FakeClock.sleep, or asyncio.sleep
    publish_delay_minutes: tuple[float, float] = (30.0, 90.0)  # normal event -> blob latency
    late_fraction: float = 0.0  # share of appended records published late ...
    late_max_hours: float = 0.0  # ... by up to this many extra hours
    duplicate_fraction: float = 0.0  # share of appended records published in a second blob too
    seed: int = 0


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: an injected status (or None) and the latency to add."""

    status: int | None
    latency_seconds: float


class FaultInjector:
    """Draws per-request decisions and publication times from a seeded generator."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._count = 0

    def decide(self) -> FaultDecision:
        """The fault for the next API request (token endpoints included)."""
        f = self.faults
        with self._lock:
            index = self._count
            self._count += 1
            # Always draw both numbers so the sequence does not depend on which faults are on.
            r500, r503 = self._rng.random(), self._rng.random()
        status: int | None = None
        every, length = f.burst_429_every, f.burst_429_length
        if every > 0 and length > 0 and index % every >= every - length:
            status = 429
        elif r500 < f.error_500_rate:
            status = 500
        elif r503 < f.error_503_rate:
            status = 503
        return FaultDecision(status, max(f.latency_seconds, 0.0))

    def publication(self, event_time: datetime) -> list[datetime]:
        """When a record of an event at ``event_time`` is published: one time, or two when
        the record is duplicated into a second blob."""
        f = self.faults
        lo, hi = f.publish_delay_minutes
        with self._lock:
            delay = self._rng.uniform(min(lo, hi), max(lo, hi)) * 60
            if self._rng.random() < f.late_fraction:
                delay += self._rng.uniform(0, f.late_max_hours * 3600)
            times = [event_time + timedelta(seconds=delay)]
            if self._rng.random() < f.duplicate_fraction:
                times.append(times[0] + timedelta(minutes=self._rng.uniform(1, 120)))
        return times
