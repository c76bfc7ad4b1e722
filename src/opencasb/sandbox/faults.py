"""Per-request fault injection shared by every emulator: 5xx, 429 bursts and latency.

Faults are drawn per endpoint (method and route template, e.g. ``GET /api/v1/logs``): each
endpoint has its own generator, seeded from ``(seed, endpoint)``, and its own request count.
So where faults land on one endpoint depends only on the seed and that endpoint's own
traffic, never on unrelated calls (an inventory sweep does not move the System Log's faults).

A 429 burst is what a real one is: another client spending the rest of the rate-limit window.
Every ``burst_429_every`` requests an endpoint's limiter admitted, the emulator drains that
request's bucket until the window resets, so the injected 429 carries the same
``X-Rate-Limit-*`` (or ``Retry-After``) values as a real exhaustion, and a client that waits
for the reset meets a fresh, whole window. Requests refused by the drained window are not
counted, so at most one burst lands in a window.

Each emulator extends :class:`RequestFaults` with its own data faults (late events, late or
duplicated blobs) and :class:`RequestFaultInjector` with the draws for them.

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
    # Every N requests admitted to one endpoint, another client spends the rest of the
    # endpoint's rate-limit window: that request and the rest of the window get 429.
    burst_429_every: int = 0
    latency_seconds: float = 0.0  # added to every API request
    latency_mode: Literal["clock", "real"] = "clock"
    seed: int = 0


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: an injected 5xx status (or None) and the latency to add."""

    status: int | None
    latency_seconds: float


@dataclass(slots=True)
class _Endpoint:
    rng: random.Random
    admitted: int = 0  # requests the limiter admitted since the last burst


F = TypeVar("F", bound=RequestFaults)


class RequestFaultInjector(Generic[F]):
    """Draws per-request decisions from seeded per-endpoint generators. Thread-safe.

    ``faults`` is mutable and may be replaced while the emulator runs. ``_rng`` is one more
    seeded generator for the subclasses' data faults.
    """

    def __init__(self, faults: F) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._rng = random.Random(faults.seed)
        self._endpoints: dict[str, _Endpoint] = {}

    def reseed(self, seed: int | None = None) -> None:
        """Restart every random sequence and request count (same seed = same faults)."""
        with self._lock:
            if seed is not None:
                self.faults.seed = seed
            self._rng = random.Random(self.faults.seed)
            self._endpoints = {}

    def _endpoint(self, endpoint: str) -> _Endpoint:
        stream = self._endpoints.get(endpoint)
        if stream is None:
            # A string seed is hashed with SHA-512: stable across runs and processes.
            stream = _Endpoint(random.Random(f"{self.faults.seed}:{endpoint}"))
            self._endpoints[endpoint] = stream
        return stream

    def decide(self, endpoint: str) -> FaultDecision:
        """The 5xx fault and latency for the next request to ``endpoint``."""
        f = self.faults
        with self._lock:
            rng = self._endpoint(endpoint).rng
            # Always draw both numbers so the sequence does not depend on which faults are on.
            r500, r503 = rng.random(), rng.random()
        status: int | None = None
        if r500 < f.error_500_rate:
            status = 500
        elif r503 < f.error_503_rate:
            status = 503
        return FaultDecision(status, max(f.latency_seconds, 0.0))

    def burst_due(self, endpoint: str) -> bool:
        """Count one request the rate limiter admitted to ``endpoint``; True when a burst
        spends the rest of its window now (the caller drains the bucket and answers 429)."""
        every = self.faults.burst_429_every
        if every <= 0:
            return False
        with self._lock:
            stream = self._endpoint(endpoint)
            stream.admitted += 1
            if stream.admitted < every:
                return False
            stream.admitted = 0
            return True
