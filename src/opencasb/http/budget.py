"""A client-side request budget for APIs that publish a rate but send no rate-limit headers.

The Management Activity API allows about 2,000 requests a minute per tenant and says nothing
about how much is left, so a client that waits for throttling errors to learn the limit pays
for each one with a back-off. Instead we spend a token bucket refilled at a fraction of the
published rate: steady state stays under the limit with no 429/AF429, and the burst is small
enough that no 60-second window, however it is aligned, sees more than the limit.
"""

from __future__ import annotations

import threading

from opencasb.clock import Clock

__all__ = ["RequestBudget"]


class RequestBudget:
    """A thread-safe token bucket on the injected clock.

    Args:
        per_minute: the requests per minute to spend (already below the API's limit).
        clock: the injected clock; waiting is ``clock.sleep``.
        burst: tokens the bucket holds when idle (default: half a percent of the rate, at
            least one). Any 60-second window sees at most ``per_minute + burst`` requests.

    ``acquire`` reserves a slot and sleeps until it comes due, outside the lock, so
    concurrent workers queue in arrival order without holding each other up.
    """

    def __init__(self, per_minute: float, *, clock: Clock, burst: int | None = None) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.burst = max(1, int(per_minute * 0.005) if burst is None else burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._at = clock.monotonic()
        self.requests = 0
        self.waited = 0.0

    def acquire(self) -> None:
        """Take one request's token, waiting for it if the bucket is empty."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            self.requests += 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._clock.sleep(wait)
