"""How a connector reaches its API: transport, TLS trust, timeout, clock and retries."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import httpx

from opencasb.clock import Clock, SystemClock

__all__ = ["HttpOptions"]


@dataclass(frozen=True)
class HttpOptions:
    """How a connector reaches its API. Tests inject a transport and a fake clock.

    ``verify`` is an ``ssl.SSLContext``, a CA bundle path, or ``True`` for the system store.
    """

    transport: httpx.BaseTransport | None = None
    verify: ssl.SSLContext | str | bool = True
    timeout: float = 30.0
    clock: Clock = field(default_factory=SystemClock)
    max_retries: int = 6
