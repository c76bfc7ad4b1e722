"""A background thread that calls a step function every few seconds (the live trickles)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Ticker"]


class Ticker:
    """Calls ``step`` every ``every`` seconds in a daemon thread, from ``start()`` until
    ``stop()``; ``stop`` waits up to 5 s for a step in progress."""

    def __init__(self, step: Callable[[], object], every: float, name: str) -> None:
        self._step = step
        self._every = every
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self._every):
                self._step()

        self._thread = threading.Thread(target=loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
