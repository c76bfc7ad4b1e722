"""Okta-style per-bucket rate limits on an injectable clock.

Each bucket allows ``limit`` requests per window; a window starts at the bucket's first
request and lasts 60 s (Okta's counters "aren't necessarily synchronized with wall clock
minutes"). Every response carries the bucket's ``X-Rate-Limit-Limit/Remaining/Reset``;
``Reset`` is the window's end in UTC epoch seconds, on the emulator's clock (the same clock
that writes the ``Date`` header, so a client computing ``Reset - Date`` waits the right time).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, fields

from opencasb.clock import Clock

__all__ = ["Decision", "RateLimiter", "RateLimits"]

WINDOW_SECONDS = 60.0


@dataclass(slots=True)
class RateLimits:
    """Requests per minute for each bucket (Okta Workforce defaults, research §4.2)."""

    logs: int = 120
    users: int = 600  # GET /api/v1/users, lifecycle operations, session clearing
    user_by_id: int = 2000  # GET /api/v1/users/{idOrLogin}
    groups: int = 500  # GET /api/v1/groups
    group_by_id: int = 1000  # /api/v1/groups/{id}/...
    catch_all: int = 1200  # everything else, including /oauth2/v1/token

    def limit_for(self, bucket: str) -> int:
        """The limit of ``bucket`` (unknown names fall back to the catch-all)."""
        names = {f.name for f in fields(self)}
        return int(getattr(self, bucket if bucket in names else "catch_all"))


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one request, and the header values to send with it."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_epoch),
        }


@dataclass(slots=True)
class _Window:
    start: float  # epoch seconds of the first request in the window
    count: int


class RateLimiter:
    """Counts requests per bucket. Thread-safe."""

    def __init__(self, limits: RateLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _window(self, bucket: str, now: float) -> _Window:
        win = self._windows.get(bucket)
        if win is None or now >= win.start + WINDOW_SECONDS:
            win = _Window(now, 0)
            self._windows[bucket] = win
        return win

    def take(self, bucket: str) -> Decision:
        """Count one request against ``bucket``; a refused request is not counted."""
        limit = self.limits.limit_for(bucket)
        now = self._clock.now().timestamp()
        with self._lock:
            win = self._window(bucket, now)
            reset = math.ceil(win.start + WINDOW_SECONDS)
            if win.count >= limit:
                return Decision(False, limit, 0, reset)
            win.count += 1
            return Decision(True, limit, limit - win.count, reset)

    def drain(self, bucket: str) -> Decision:
        """Spend the rest of ``bucket``'s current window (another client took it): this and
        every request until the window's reset are refused, as in a real exhaustion."""
        limit = self.limits.limit_for(bucket)
        now = self._clock.now().timestamp()
        with self._lock:
            win = self._window(bucket, now)
            win.count = max(win.count, limit)
            return Decision(False, limit, 0, math.ceil(win.start + WINDOW_SECONDS))

    def peek(self, bucket: str) -> Decision:
        """The bucket's state without counting (for responses refused before counting)."""
        limit = self.limits.limit_for(bucket)
        now = self._clock.now().timestamp()
        with self._lock:
            win = self._window(bucket, now)
            reset = math.ceil(win.start + WINDOW_SECONDS)
            return Decision(win.count < limit, limit, max(limit - win.count, 0), reset)
