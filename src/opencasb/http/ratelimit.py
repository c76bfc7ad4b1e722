"""Pace requests from the API's own rate-limit headers so that steady state sees no 429.

Okta-style headers: ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and
``X-Rate-Limit-Reset`` (epoch seconds on the *server's* clock). We spend a bucket's budget
and, once it is exhausted, wait until the server says it resets. The reset is compared with
the server's ``Date`` header rather than our clock, so clock skew between us and the API
neither makes us wait too long nor send too early (the lesson of okta-sdk-python).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from opencasb.clock import Clock

__all__ = ["BucketState", "RateLimitPacer"]


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

    Args:
        clock: the injected clock (sleeping is the caller's job).
        reserve: requests to leave unspent in each window, for other users of the same budget.
        margin: seconds added after a reset, because ``Date`` has one-second resolution.
    """

    def __init__(self, clock: Clock, *, reserve: int = 0, margin: float = 1.0) -> None:
        self._clock = clock
        self._reserve = reserve
        self._margin = margin
        self._buckets: dict[str, BucketState] = {}
        self.requests = 0
        self.waited = 0.0

    def delay(self, bucket: str) -> float:
        """Seconds to wait before sending a request that counts against ``bucket``."""
        state = self._buckets.get(bucket)
        if state is None or state.remaining > self._reserve:
            return 0.0
        return max(0.0, state.reset_at_local - self._clock.monotonic())

    def before_request(self, bucket: str) -> None:
        """Wait (on the injected clock) if the bucket is spent, then count the request."""
        wait = self.delay(bucket)
        if wait > 0:
            self.waited += wait
            self._clock.sleep(wait)
            state = self._buckets.get(bucket)
            if state is not None:
                # The window has reset; we do not know the new size until the next answer.
                state.remaining = max(state.limit - self._reserve, 1)
        state = self._buckets.get(bucket)
        if state is not None:
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
        self._buckets[bucket] = BucketState(
            limit=limit, remaining=remaining, reset_at_local=self._clock.monotonic() + reset_in
        )
