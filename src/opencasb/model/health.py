"""The health of one connected app instance: a small state machine the runner drives.

::

    connecting ──► backfilling ──► connected ◄──► degraded (transient errors, retrying)
         │              │              │
         └──────────────┴──────────────┴──► error (needs the user: bad token, permission)
    any ──► disabled (by the user)        error/disabled ──► connecting (user fixed or enabled)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from opencasb.errors import ErrorInfo

__all__ = ["Health", "HealthState"]


class HealthState(StrEnum):
    CONNECTING = "connecting"
    BACKFILLING = "backfilling"
    CONNECTED = "connected"
    DEGRADED = "degraded"
    ERROR = "error"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Health:
    """What the status table shows for one instance.

    ``lag_seconds`` is the age of the newest stored event at the last successful poll.
    ``progress`` is the backfill fraction (0..1) while ``state`` is BACKFILLING.
    """

    state: HealthState = HealthState.CONNECTING
    progress: float | None = None
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    newest_event: datetime | None = None
    lag_seconds: float | None = None
    events_stored: int = 0
    duplicates_dropped: int = 0
    rejected: int = 0
    consecutive_failures: int = 0
    last_error: ErrorInfo | None = None
    last_error_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
