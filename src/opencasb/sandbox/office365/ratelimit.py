"""Request budgets per bucket, on the injectable clock.

The Management Activity API allows about 2,000 requests a minute per tenant (research §1.6);
which pool a request counts against depends on its ``PublisherIdentifier`` (compared
case-insensitively): with one, the tenant+publisher pool; without, a shared pool. Graph has its
own budget. A bucket's window starts at its first request and lasts ``window_seconds``; an
over-budget request is refused (not counted) with ``Retry-After`` = seconds to the window end.
An injected burst drains the window (:meth:`RateLimiter.drain`), so its ``Retry-After`` is the
same real wait and a client that honours it meets a fresh window.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from opencasb.clock import Clock

__all__ = ["Limits", "RateLimiter"]


@dataclass(slots=True)
class Limits:
    """Budgets and page sizes. Defaults follow the research doc where it has a number."""

    activity_per_minute: int = 2000  # per tenant and PublisherIdentifier
    shared_pool_per_minute: int = 2000  # requests without a PublisherIdentifier
    activity_window_seconds: float = 60.0  # both pools' window (shorter in fast tests)
    graph_per_window: int = 2000
    graph_window_seconds: float = 10.0
    throttle_status: int = 429  # the FAQ shows AF429 as 403; 429 for newer front ends
    content_page_size: int = 100  # blobs per /subscriptions/content page
    graph_default_top: int = 100
    graph_max_top: int = 999


@dataclass(slots=True)
class _Window:
    start: float
    count: int


class RateLimiter:
    """Counts requests per bucket name. Thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _window(self, bucket: str, now: float, window_seconds: float) -> _Window:
        win = self._windows.get(bucket)
        if win is None or now >= win.start + window_seconds:
            win = self._windows[bucket] = _Window(now, 0)
        return win

    def take(self, bucket: str, limit: int, window_seconds: float = 60.0) -> int | None:
        """Count one request; ``None`` when allowed, else the whole seconds to wait."""
        now = self._clock.now().timestamp()
        with self._lock:
            win = self._window(bucket, now, window_seconds)
            if win.count >= limit:
                return max(1, math.ceil(win.start + window_seconds - now))
            win.count += 1
            return None

    def drain(self, bucket: str, limit: int, window_seconds: float = 60.0) -> int:
        """Spend the rest of the current window (another client took it); returns the
        whole seconds until it resets, as :meth:`take` would for an exhausted window."""
        now = self._clock.now().timestamp()
        with self._lock:
            win = self._window(bucket, now, window_seconds)
            win.count = max(win.count, limit)
            return max(1, math.ceil(win.start + window_seconds - now))
