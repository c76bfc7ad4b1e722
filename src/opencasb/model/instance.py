"""A connected app instance as the store keeps it, without its secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opencasb.model.health import Health

__all__ = ["InstanceRecord"]


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One connected app instance, without its secrets (the store decrypts those on demand,
    so a record can be logged, cached or returned by the API safely)."""

    id: int
    name: str
    app: str
    config: dict[str, str]
    enabled: bool
    interval_seconds: int
    created_at: datetime
    health: Health
