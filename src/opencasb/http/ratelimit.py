"""Pace requests from the API's own rate-limit headers so that steady state sees no 429.

Okta-style headers: ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and
``X-Rate-Limit-Reset`` (epoch seconds on the *server's* clock). We spend a bucket's budget
and, once it is exhausted, wait until the server says it resets. The reset is compared with
the server's ``Date`` header rather than our clock, so clock skew between us and the API
neither makes us wait too long nor send too early (the lesson of okta-sdk-python).

A bucket is the org's, not ours: every other integration of the org draws on it too, and
one that finds it empty gets 429s (an admin console, a provisioning job). So a share of
each window (``HEADROOM``) is left unspent; we wait for the reset instead.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from opencasb.clock import Clock

__all__ = ["HEADROOM", "BucketState", "RateLimitPacer"]

HEADROOM = 0.1
"""Share of each bucket's limit never spent (12 of the System Log's 120 a minute)."""


@dataclass(slots=True)
class BucketState:
    limit: int
    remaining: int
    reset_at_local: float  # monotonic seconds at which the server's window resets


def _int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


class RateLimitPacer:
    """Tracks one client's buckets and tells it how long to wait before the next request.

    Thread-safe: two threads of one client (a feed and the inventory) share its buckets.

    Args:
        clock: the injected clock (sleeping is the caller's job).
        reserve: requests to leave unspent in each window, for other users of the same budget.
        headroom: the share of each window's limit to leave unspent; the larger of the two
            is kept.
        margin: seconds added after a reset, because ``Date`` has one-second resolution.
    """

    def __init__(
        self, clock: Clock, *, reserve: int = 0, headroom: float = HEADROOM, margin: float = 1.0
    ) -> None:
        self._clock = clock
        self._reserve = reserve
        self._headroom = headroom
        self._margin = margin
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketState] = {}
        self.requests = 0
        self.waited = 0.0

    def kept(self, limit: int) -> int:
        """Requests of a window of ``limit`` that are left to the org's other clients."""
        return max(self._reserve, math.ceil(limit * self._headroom))

    def delay(self, bucket: str) -> float:
        """Seconds to wait before sending a request that counts against ``bucket``."""
        with self._lock:
            state = self._buckets.get(bucket)
            if state is None or state.remaining > self.kept(state.limit):
                return 0.0
            return max(0.0, state.reset_at_local - self._clock.monotonic())

    def before_request(self, bucket: str) -> None:
        """Wait (on the injected clock) if the bucket is spent, then count the request."""
        wait = self.delay(bucket)
        if wait > 0:
            self._clock.sleep(wait)
        with self._lock:
            self.waited += wait
            state = self._buckets.get(bucket)
            if state is not None:
                if wait > 0:
                    # The window has reset; the next answer tells how much of it is left.
                    state.remaining = max(state.limit, 1)
                state.remaining -= 1
            self.requests += 1

    def reset_in(self, headers: Mapping[str, str]) -> float | None:
        """Seconds until the window in ``headers`` resets, measured on the server's clock."""
        reset = _int(headers, "x-rate-limit-reset")
        if reset is None:
            return None
        server_now = self._clock.now().timestamp()
        date = headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                server_now = parsedate_to_datetime(date).timestamp()
        return max(0.0, reset - server_now) + self._margin

    def observe(self, bucket: str, headers: Mapping[str, str]) -> None:
        """Record the bucket state an answer reported."""
        limit = _int(headers, "x-rate-limit-limit")
        remaining = _int(headers, "x-rate-limit-remaining")
        reset_in = self.reset_in(headers)
        if limit is None or remaining is None or reset_in is None:
            return
        if limit == 0:  # a concurrency-limit answer: both values are always 0
            remaining = 0
        with self._lock:
            self._buckets[bucket] = BucketState(
                limit=limit,
                remaining=remaining,
                reset_at_local=self._clock.monotonic() + reset_in,
            )
