"""The health state machine of an app instance, as pure functions (no store, no clock).

::

    connecting ──► backfilling ──► connected ◄──► degraded (transient errors, retrying)
         │              │              │
         └──────────────┴──────────────┴──► error (needs the user: bad token, permission)
    any ──► disabled (by the user)        error/disabled ──► connecting (user fixed or enabled)

Each function takes the health so far and what happened, and returns the next
:class:`~opencasb.model.Health`; the ingest runner writes it, the CLI writes
:func:`changed_by_user`'s. Times come from the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from opencasb.apps.base import Gap
from opencasb.errors import ErrorInfo
from opencasb.model import Health, HealthState

__all__ = [
    "behind",
    "changed_by_user",
    "disabled",
    "failed",
    "page_stored",
    "run_started",
    "succeeded",
]

CAUGHT_UP = 0.999
"""Progress from which a feed counts as caught up even if its page does not say so."""


def behind(progress: float | None, caught_up: bool) -> bool:
    """Whether a feed whose last page had ``progress`` is still backfilling."""
    return not caught_up and (progress or 0.0) < CAUGHT_UP


def disabled(health: Health) -> Health:
    """The user disabled the instance: any state -> DISABLED (counts kept)."""
    return dataclasses.replace(health, state=HealthState.DISABLED)


def changed_by_user(health: Health, *, enabled: bool) -> Health:
    """The user changed the instance (credentials, settings, enabled): a problem they may
    have fixed is looked at afresh. ERROR, DEGRADED or DISABLED -> CONNECTING with the error
    and the failure count cleared; disabled -> DISABLED; otherwise unchanged. Counts and
    times are kept."""
    if not enabled:
        return disabled(health)
    if health.state in (HealthState.ERROR, HealthState.DEGRADED, HealthState.DISABLED):
        return dataclasses.replace(
            health, state=HealthState.CONNECTING, last_error=None, consecutive_failures=0
        )
    return health


def run_started(health: Health, *, now: datetime, events_stored: int, rejected: int) -> Health:
    """A run begins: the attempt is noted and the counts restart from the committed rows
    (state unchanged until a page, a success or a failure)."""
    return dataclasses.replace(
        health, last_attempt=now, events_stored=events_stored, rejected=rejected
    )


def page_stored(
    health: Health,
    *,
    progress: float | None,
    caught_up: bool,
    newest_time: datetime | None,
    inserted: int,
    duplicates: int,
    quarantined: int,
    gaps: Sequence[Gap] = (),
    now: datetime,
) -> Health:
    """A page was committed: BACKFILLING with its progress while the feed is behind, else
    CONNECTED; the counts grow by the page's; the newest event only moves forward. A gap
    (what the API can no longer deliver) becomes the last error, not transient, without
    changing the state."""
    newest = health.newest_event
    if newest_time and (newest is None or newest_time > newest):
        newest = newest_time
    late = behind(progress, caught_up)
    health = dataclasses.replace(
        health,
        state=HealthState.BACKFILLING if late else HealthState.CONNECTED,
        progress=progress if late else None,
        newest_event=newest,
        events_stored=health.events_stored + inserted,
        duplicates_dropped=health.duplicates_dropped + duplicates,
        rejected=health.rejected + quarantined,
    )
    if gaps:
        last = gaps[-1]
        info = ErrorInfo(last.code, f"{last.meaning} ({last.what})", last.fix, transient=False)
        health = dataclasses.replace(health, last_error=info, last_error_at=now)
    return health


def succeeded(health: Health, *, now: datetime) -> Health:
    """A run caught up: -> CONNECTED, the failure count cleared, the lag measured from the
    newest event (the last error stays for the record)."""
    newest = health.newest_event
    return dataclasses.replace(
        health,
        state=HealthState.CONNECTED,
        progress=None,
        last_success=now,
        lag_seconds=(now - newest).total_seconds() if newest else None,
        consecutive_failures=0,
    )


def failed(health: Health, error: ErrorInfo, *, transient: bool, now: datetime) -> Health:
    """A run failed with ``error``: -> DEGRADED when ``transient`` (the scheduler retries),
    else ERROR (the user must act); one more consecutive failure."""
    return dataclasses.replace(
        health,
        state=HealthState.DEGRADED if transient else HealthState.ERROR,
        consecutive_failures=health.consecutive_failures + 1,
        last_error=error,
        last_error_at=now,
    )
