"""Synthetic Okta data for a synthetic organisation: directory objects and System Log events.

* :func:`okta_seed_parts` — users, groups, memberships and admin roles to seed the emulator.
* :func:`generate_events` — everyday System Log activity in a time window, in ``published``
  order, lazily, with the time each event was persisted.
* :func:`live_events` — the same, for "events from now on".

Events are a pure function of ``(org, seed, person, day)``: asking for ``[t0, t1)`` and then
``[t1, t2)`` yields exactly the events of ``[t0, t2)``. A caller that wants a live trickle
keeps the end of its last window and periodically asks for ``live_events(org, last, now)``.

Generated events share read-only sub-objects (actor, userAgent, geographicalContext,
securityContext, ipChain): serialize them, or copy one before changing it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.clock import utc
from opencasb.sandbox.okta.gen_context import build_templates
from opencasb.sandbox.okta.gen_day import DAY_MS, UNIX_EPOCH_ORDINAL, Planner, Spec
from opencasb.sandbox.okta.gen_directory import directory
from opencasb.sandbox.okta.gen_seed import okta_seed_parts
from opencasb.sandbox.org import Organisation

__all__ = ["generate_events", "live_events", "okta_seed_parts"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# No local day starts more than 14 hours before the UTC day (UTC+14 is the furthest zone).
_MAX_AHEAD_MS = 14 * 3_600_000
_ONE_MS = timedelta(milliseconds=1)


def _ms(dt: datetime) -> int:
    return (utc(dt) - _EPOCH) // timedelta(milliseconds=1)


def _persisted(ms: int, r: int) -> datetime:
    """Published + 0.2-3 s, and about one event in 64 held up to 20 s (out of order)."""
    delay = ((r >> 40) & 0xFFFFFF) % 2800 + 200
    if (r >> 34) & 0x3F == 0:
        delay += ((r >> 20) & 0x3FFF) % 17_000
    return _EPOCH + _ONE_MS * (ms + delay)


def generate_events(
    org: Organisation, start: datetime, end: datetime, *, seed: int | None = None
) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Yield ``(LogEvent, persisted_at)`` for every event published in ``[start, end)``.

    Events come in ``published`` order; ``persisted_at`` is a little later (0.2 s to a few
    seconds, rarely up to ~20 s), so persistence order is close to, not equal to, published
    order. ``seed`` defaults to ``org.seed``. Memory stays flat however long the window: days
    are planned one at a time and only about a day of compact schedule entries is held.
    """
    seed = org.seed if seed is None else seed
    start_ms, end_ms = _ms(start), _ms(end)
    if end_ms <= start_ms:
        return
    ot = build_templates(org, directory(org))
    plan = Planner(ot, seed)
    first = utc(start).date().toordinal() - 1
    last = utc(end).date().toordinal() + 1
    pending: list[Spec] = []
    for day in range(first, last + 1):
        plan.org_day(day, pending)
        for pt in ot.people:
            plan.person_day(pt, day, pending)
        pending.sort()  # (ms, tie) is unique, so tuples never compare further
        if day < last:
            watermark = (day + 1 - UNIX_EPOCH_ORDINAL) * DAY_MS - _MAX_AHEAD_MS
            cut = bisect_left(pending, watermark, key=_first)
        else:
            cut = len(pending)
        ready, pending = pending[:cut], pending[cut:]
        lo = bisect_left(ready, start_ms, key=_first)
        for ms, _tie, build, sess, r, x in ready[lo:]:
            if ms >= end_ms:
                return
            yield build(ms, sess, r, x), _persisted(ms, r)


def live_events(
    org: Organisation, after: datetime, until: datetime, *, seed: int | None = None
) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Events published in ``[after, until)``: call it with consecutive windows for a
    live trickle (``after`` = the previous ``until``); no event is repeated or skipped."""
    return generate_events(org, after, until, seed=seed)


def _first(spec: Spec) -> int:
    return spec[0]
