"""What every notifier kind implements, and the short, secret-free error texts they raise."""

from __future__ import annotations

from typing import Protocol

from opencasb.errors import DeliveryFailed
from opencasb.notify.payload import Outgoing
from opencasb.text import visible

__all__ = ["Sender", "failed", "snippet"]


class Sender(Protocol):
    """Sends alert events to one receiver. Made for one stage pass (it may keep a
    connection open between sends) and closed at its end."""

    def send(self, out: Outgoing) -> str:
        """Deliver ``out``; returns the receiver's answer in a few words.

        Raises:
            DeliveryFailed: the receiver did not take it (the message says why).
        """
        ...

    def close(self) -> None: ...


def snippet(text: str, limit: int = 200) -> str:
    """A receiver's answer for a log line: one line, controls made visible, cut short."""
    text = " ".join(text.split())
    return visible(text[:limit] + ("..." if len(text) > limit else ""))


def failed(
    message: str, fix: str, code: str, *, retry_after: float | None = None
) -> DeliveryFailed:
    """A DeliveryFailed; ``retry_after`` is the wait the receiver asked for (seconds), which
    the stage honours when it is longer than its backoff."""
    err = DeliveryFailed(message, fix=fix, code=code)
    err.retry_after = retry_after
    return err
