"""Connector health as stored in ``instances.health``: JSON text with ISO-8601 times and the
last error as its catalogue entry; :func:`health_from_json` reads back what
:func:`health_to_json` wrote (a damaged record is a :class:`~opencasb.errors.StoreError`
naming the row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opencasb.errors import ErrorInfo, StoreError
from opencasb.model.health import Health, HealthState
from opencasb.store.codec import CORRUPT_FIX, dumps, loads_object

__all__ = ["health_from_json", "health_to_json"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def health_to_json(h: Health) -> str:
    """Health as JSON text (times in ISO-8601, the error as its catalogue entry)."""
    err = h.last_error
    return dumps(
        {
            "state": h.state.value,
            "progress": h.progress,
            "last_success": _iso(h.last_success),
            "last_attempt": _iso(h.last_attempt),
            "newest_event": _iso(h.newest_event),
            "lag_seconds": h.lag_seconds,
            "events_stored": h.events_stored,
            "duplicates_dropped": h.duplicates_dropped,
            "rejected": h.rejected,
            "consecutive_failures": h.consecutive_failures,
            "last_error": None
            if err is None
            else {
                "code": err.code,
                "meaning": err.meaning,
                "fix": err.fix,
                "transient": err.transient,
            },
            "last_error_at": _iso(h.last_error_at),
            "counts": h.counts,
        }
    )


def health_from_json(text: str | None, what: str) -> Health:
    """Parse :func:`health_to_json` output; ``None`` (never set) is the default Health."""
    if text is None:
        return Health()
    d = loads_object(text, what)
    try:
        err = d.get("last_error")
        return Health(
            state=HealthState(d.get("state", HealthState.CONNECTING)),
            progress=d.get("progress"),
            last_success=_dt(d.get("last_success")),
            last_attempt=_dt(d.get("last_attempt")),
            newest_event=_dt(d.get("newest_event")),
            lag_seconds=d.get("lag_seconds"),
            events_stored=int(d.get("events_stored", 0)),
            duplicates_dropped=int(d.get("duplicates_dropped", 0)),
            rejected=int(d.get("rejected", 0)),
            consecutive_failures=int(d.get("consecutive_failures", 0)),
            last_error=None if err is None else ErrorInfo(**err),
            last_error_at=_dt(d.get("last_error_at")),
            counts={str(k): int(v) for k, v in d.get("counts", {}).items()},
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"{what} holds an unreadable health record: {exc}", fix=CORRUPT_FIX
        ) from exc
