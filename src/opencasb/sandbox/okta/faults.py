"""Fault injection: server errors, 429 bursts, slow answers and late-stored events.

All randomness comes from one seeded :class:`random.Random`, so a run with the same seed and
the same request sequence fails in the same places. ``Faults`` is a plain mutable dataclass:
change its fields (or replace it on the app's runtime) while the emulator runs.

Latency is explicit about its kind: ``latency_mode="clock"`` calls ``clock.sleep`` (a
FakeClock just advances, so in-process tests stay instant), ``"real"`` awaits
``asyncio.sleep`` on the server's event loop (for the HTTPS sandbox and demos).
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

    error_500_rate: float = 0.0  # probability of a 500 E0000009 per API request
    error_503_rate: float = 0.0  # probability of a 503 per API request
    burst_429_every: int = 0  # every N API requests ...
    burst_429_length: int = 0  # ... the last K of them answer 429 even under budget
    latency_seconds: float = 0.0  # added to every API request
    latency_mode: Literal["clock", "real"] = "clock"
    late_fraction: float = 0.0  # share of appended events stored late ...
    late_max_minutes: float = 0.0  # ... by a uniform delay up to this many minutes
    seed: int = 0


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: an injected status (or None) and the latency to add."""

    status: int | None
    latency_seconds: float


class FaultInjector:
    """Draws per-request decisions from a seeded generator. Thread-safe."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._count = 0

    def reseed(self, seed: int | None = None) -> None:
        """Restart the random sequence and the request counter (same seed = same faults)."""
        with self._lock:
            if seed is not None:
                self.faults.seed = seed
            self._rng = random.Random(self.faults.seed)
            self._count = 0

    def decide(self) -> FaultDecision:
        """The fault for the next API request."""
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
        if status is None and r500 < f.error_500_rate:
            status = 500
        elif status is None and r503 < f.error_503_rate:
            status = 503
        return FaultDecision(status, max(f.latency_seconds, 0.0))

    def persisted_at(self, published: datetime) -> datetime:
        """When an event published at ``published`` reaches the log (maybe late)."""
        f = self.faults
        if f.late_fraction <= 0 or f.late_max_minutes <= 0:
            return published
        with self._lock:
            late = self._rng.random() < f.late_fraction
            delay = self._rng.uniform(0, f.late_max_minutes * 60) if late else 0.0
        return published + timedelta(seconds=delay)
