"""Time as an injectable dependency, so that nothing in tests ever sleeps for real."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["AnchoredClock", "Clock", "FakeClock", "SystemClock", "utc"]


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


class Clock(Protocol):
    """Wall time, monotonic time and sleeping."""

    def now(self) -> datetime:
        """The current aware UTC time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (a fake clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class AnchoredClock:
    """Real time, shifted to start at ``anchor``: ``now()`` stays at ``anchor`` until
    :meth:`start`, then runs at ``base``'s speed. A sandbox pinned to an anchor and started
    once it serves sees the same times, relative to its start, in every run (however long
    building it took)."""

    def __init__(self, anchor: datetime, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._anchor = utc(anchor)
        self._start: float | None = None

    def start(self) -> None:
        """Let time run from now on (a second call changes nothing)."""
        if self._start is None:
            self._start = self._base.monotonic()

    def now(self) -> datetime:
        if self._start is None:
            return self._anchor
        return self._anchor + timedelta(seconds=self._base.monotonic() - self._start)

    def monotonic(self) -> float:
        return self._base.monotonic()

    def sleep(self, seconds: float) -> None:
        self._base.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it and records the request.

    Thread-safe enough for tests: reads and writes of one attribute.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
        self._mono = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
