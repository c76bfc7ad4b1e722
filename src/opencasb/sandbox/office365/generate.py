"""Synthetic Office 365 data for a synthetic organisation: the Graph directory and the audit
records the Management Activity API publishes.

* :func:`tenant_for` — the org's tenant (GUID derived from the seed, domains, SharePoint hosts).
* :func:`graph_directory` — Graph users, groups and memberships to seed the emulator.
* :func:`generate_records` — everyday audit records *published* in a window, in publication
  order, lazily, with their publication time.
* :func:`live_records` — the same, for a live trickle.

Windows are on **publication** time, because that is what the API lists by (research §2.6):
a record is published 30 minutes to hours after it happened, in 5-minute blobs per content
type, a small share of records a second time in a later blob (same ``Id``), and with
``late`` (the emulator's ``Faults.late_fraction``) a chosen share hours later still. Records are a
pure function of ``(org, seed, person, day)``, so asking for ``(t0, t1]`` and then
``(t1, t2]`` yields exactly the records of ``(t0, t2]``.

Generated records share read-only sub-objects (``Actor`` lists, ``DeviceProperties``,
``ExtendedProperties`` of sign-ins): serialize them, or copy one before changing it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.clock import utc
from opencasb.sandbox.office365.gen_directory import graph_directory
from opencasb.sandbox.office365.gen_plan import DAY, UNIX_EPOCH_ORDINAL, Planner
from opencasb.sandbox.office365.gen_publish import MAX_LAG, MIN_LAG, Late, Spec
from opencasb.sandbox.office365.gen_tenant import O365Tenant, TenantT, build_tenant, tenant_for
from opencasb.sandbox.org import Organisation

__all__ = [
    "O365Tenant",
    "RecordGenerator",
    "generate_records",
    "graph_directory",
    "live_records",
    "tenant_for",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AHEAD = 14 * 3600  # no local day starts more than 14 hours before its UTC day
_BEHIND = 12 * 3600  # ... nor ends more than 12 hours after it


def _seconds(dt: datetime) -> int:
    return (utc(dt) - _EPOCH) // timedelta(seconds=1)


class RecordGenerator:
    """The audit records of one org's tenant; keeps the per-person templates between calls
    (a live trickle asks every few seconds). ``late`` publishes a share of them hours late
    (:class:`~opencasb.sandbox.office365.gen_publish.Late`)."""

    def __init__(
        self,
        org: Organisation,
        tenant: O365Tenant,
        *,
        seed: int | None = None,
        late: Late | None = None,
    ) -> None:
        self.org = org
        self.tenant = tenant
        self.seed = org.seed if seed is None else seed
        self.late = late if late is not None and late.active else None
        self.tt: TenantT = build_tenant(org, tenant)

    def records(self, start: datetime, end: datetime) -> Iterator[tuple[dict[str, Any], datetime]]:
        """Yield ``(record, published_at)`` for every record published in ``(start, end]``,
        in publication order (records of one publication time in no particular event order).

        Memory stays flat however long the window: days are planned one at a time and only
        about a day of compact schedule entries is held.
        """
        lo, hi = _seconds(start), _seconds(end)
        if hi <= lo:
            return
        plan = Planner(self.tt, self.seed, self.late)
        people = self.tt.people
        # Local day D happens within [D - 14 h, D + 1 d + 12 h] (UTC), so these are the days
        # whose records can be published in the window.
        lag = MAX_LAG + (self.late.max_seconds if self.late else 0)
        first = datetime.fromtimestamp(lo - lag - _BEHIND, UTC).date().toordinal()
        last = datetime.fromtimestamp(hi + _AHEAD, UTC).date().toordinal()
        pending: list[Spec] = []
        when, stamp = -1, _EPOCH
        for day in range(first, last + 1):
            plan.org_day(day, pending)
            for pt in people:
                plan.person_day(pt, day, pending)
            pending.sort()  # keys are unique, so tuples never compare further
            if day < last:
                # Every record not planned yet happens after the next day's earliest local
                # midnight, so it is published at least MIN_LAG after that.
                watermark = (day + 1 - UNIX_EPOCH_ORDINAL) * DAY - _AHEAD + MIN_LAG
                cut = bisect_left(pending, watermark << 44, key=_first)
            else:
                cut = len(pending)
            ready, pending = pending[:cut], pending[cut:]
            start_at = bisect_left(ready, (lo + 1) << 44, key=_first)
            for _key, pub, ts, kind, sess, x, r in ready[start_at:]:
                if pub > hi:
                    return
                rec = kind.build(sess, ts, x, r)
                if (r >> 64) & 0x3F == 0:
                    # Numbers sent as strings, as some records arrive (edge-case samples).
                    rec["RecordType"] = str(rec["RecordType"])
                    rec["UserType"] = str(rec["UserType"])
                    rec["Version"] = "1"
                if pub != when:
                    when, stamp = pub, _EPOCH + timedelta(seconds=pub)
                yield rec, stamp


def generate_records(
    org: Organisation,
    tenant: O365Tenant,
    start: datetime,
    end: datetime,
    *,
    seed: int | None = None,
    late: Late | None = None,
) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Yield ``(audit record, publication time)`` for every record published in
    ``(start, end]``, sorted by publication time. ``seed`` defaults to ``org.seed``; ``late``
    publishes a share of the records hours late."""
    return RecordGenerator(org, tenant, seed=seed, late=late).records(start, end)


def live_records(
    org: Organisation,
    tenant: O365Tenant,
    since: datetime,
    until: datetime,
    *,
    seed: int | None = None,
    late: Late | None = None,
) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Records published in ``(since, until]``: call it with consecutive windows for a live
    trickle (``since`` = the previous ``until``); no record is repeated or skipped (apart
    from the duplicates the service itself publishes)."""
    return generate_records(org, tenant, since, until, seed=seed, late=late)


def _first(spec: Spec) -> int:
    return spec[0]
