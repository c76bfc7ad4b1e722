"""Background requests: work that must give way to a sync's feeds, such as the inventory.

A first sync fetches the inventory beside the System Log backfill. Both draw on the same
process (parsing and storing pages is CPU-bound) and on the org's rate buckets, which
other integrations share. So while the feeds are still running, a thread that runs under
a :class:`BackgroundPace` sends at most one request per ``interval`` seconds; once the
runner calls :meth:`BackgroundPace.release` (the feeds are done), it goes at full speed.
The feeds' first events are never behind an inventory request, and an org whose backfill
takes minutes has its inventory within about a minute anyway (~60 requests for 2,000
people).

The interval is wall time (``threading.Event.wait``), not the injected clock: it only
spaces requests out, and a fake clock advanced by one thread would move time for all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["BACKGROUND_INTERVAL", "BackgroundPace", "current_pace"]

BACKGROUND_INTERVAL = 1.0
"""Seconds between background requests while the feeds run."""

T = TypeVar("T")
_local = threading.local()


class BackgroundPace:
    """Spaces out the requests of the threads that :meth:`run` under it, until released."""

    def __init__(self, interval: float = BACKGROUND_INTERVAL) -> None:
        self.interval = interval
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._next = time.monotonic() + interval  # the feeds go first
        self.waited = 0.0

    def release(self) -> None:
        """Let every waiting and later request go at once. Idempotent."""
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def wait_turn(self) -> None:
        """Wait until this request's turn (or the release)."""
        with self._lock:
            now = time.monotonic()
            turn = max(now, self._next)
            self._next = turn + self.interval
        if turn > now and not self._released.is_set():
            start = time.monotonic()
            self._released.wait(turn - now)
            self.waited += time.monotonic() - start

    def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` with this thread's API requests paced by this object."""
        _local.pace = self
        try:
            return fn()
        finally:
            _local.pace = None


def current_pace() -> BackgroundPace | None:
    """The pace of the calling thread's requests, if it runs in the background."""
    pace: BackgroundPace | None = getattr(_local, "pace", None)
    return pace
