"""Per-request fault injection shared by every emulator: 5xx, 429 bursts and latency.

All randomness comes from one seeded :class:`random.Random`, so a run with the same seed and
the same request sequence fails in the same places. Each emulator extends
:class:`RequestFaults` with its own data faults (late events, late or duplicated blobs) and
:class:`RequestFaultInjector` with the draws for them, under the same lock and generator.

Latency is explicit about its kind: ``latency_mode="clock"`` calls ``clock.sleep`` (a
FakeClock just advances, so in-process tests stay instant), ``"real"`` awaits
``asyncio.sleep`` on the server's event loop (for the HTTPS sandbox and demos).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

__all__ = ["FaultDecision", "RequestFaultInjector", "RequestFaults"]


@dataclass(slots=True)
class RequestFaults:
    """What to break in each API request, and how often. The defaults break nothing."""

    error_500_rate: float = 0.0  # probability of a 500 per API request
    error_503_rate: float = 0.0  # probability of a 503 per API request
    burst_429_every: int = 0  # every N API requests ...
    burst_429_length: int = 0  # ... the last K of them are throttled even under budget
    latency_seconds: float = 0.0  # added to every API request
    latency_mode: Literal["clock", "real"] = "clock"
    seed: int = 0


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: an injected status (or None) and the latency to add."""

    status: int | None
    latency_seconds: float


F = TypeVar("F", bound=RequestFaults)


class RequestFaultInjector(Generic[F]):
    """Draws per-request decisions from a seeded generator. Thread-safe.

    ``faults`` is mutable and may be replaced while the emulator runs.
    """

    def __init__(self, faults: F) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._rng = random.Random(faults.seed)
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
        elif r500 < f.error_500_rate:
            status = 500
        elif r503 < f.error_503_rate:
            status = 503
        return FaultDecision(status, max(f.latency_seconds, 0.0))
