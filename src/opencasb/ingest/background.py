"""One call run on a thread of its own, for work that must not hold up a sync's feeds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Background"]

T = TypeVar("T")


class Background(Generic[T]):
    """Runs ``fn()`` on a daemon thread from construction on.

    :meth:`result` waits for it and returns its value or raises what it raised, in the
    caller's thread. Whatever ``fn`` touches must be safe to use from two threads at once
    (the API client is; a store connection is not, so results are stored by the caller).
    """

    def __init__(self, fn: Callable[[], T], *, name: str) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def join(self) -> None:
        """Wait until ``fn`` has returned or raised."""
        self._thread.join()

    def result(self) -> T:
        """``fn``'s value, once it is done; raises what ``fn`` raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when fn returned
