"""The dashboard's numbers, counted in the database over a recent window.

Each function reads the ``activities`` table (with the interned ``actors``) through the
time index: activities per instance per day, the busiest users, the commonest countries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, func, select, type_coerce

from opencasb.store import Store
from opencasb.store.schema import activities, actors, to_micros

__all__ = ["DayCounts", "activity_per_day", "top_countries", "top_users"]

_DAY_US = 86_400_000_000
_raw_time = type_coerce(activities.c.time, BigInteger)


@dataclass(frozen=True, slots=True)
class DayCounts:
    """Activities per instance (by name) per day, oldest day first."""

    days: list[datetime]
    series: dict[str, list[int]]


def _start(now: datetime, days: int) -> datetime:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def activity_per_day(store: Store, now: datetime, days: int = 7) -> DayCounts:
    """Stored activities of each instance on each of the last ``days`` days (UTC)."""
    start = _start(now, days)
    first = to_micros(start)
    day = (_raw_time - first) / _DAY_US
    stmt = (
        select(activities.c.instance_id, day.label("day"), func.count())
        .where(_raw_time >= first)
        .group_by(activities.c.instance_id, day)
    )
    names = {rec.id: rec.name for rec in store.list_instances()}
    series = {name: [0] * days for name in sorted(names.values())}
    with store.engine.connect() as conn:
        for iid, d, n in conn.execute(stmt):
            name = names.get(int(iid))
            if name is not None and 0 <= int(d) < days:
                series[name][int(d)] += int(n)
    return DayCounts([start + timedelta(days=i) for i in range(days)], series)


def top_users(store: Store, now: datetime, days: int = 7, limit: int = 8) -> list[tuple[str, int]]:
    """The users with the most activities in the last ``days`` days: (e-mail or id, count)."""
    first = to_micros(_start(now, days))
    counted = (
        select(activities.c.actor_ref, func.count().label("n"))
        .where(_raw_time >= first, activities.c.actor_ref.is_not(None))
        .group_by(activities.c.actor_ref)
        .subquery()
    )
    stmt = (
        select(actors.c.email, actors.c.actor_id_lc, actors.c.name_lc, counted.c.n)
        .join(counted, counted.c.actor_ref == actors.c.id)
        .order_by(counted.c.n.desc())
        .limit(limit * 3)
    )
    totals: dict[str, int] = {}
    with store.engine.connect() as conn:
        for email, actor_id, name, n in conn.execute(stmt):
            who = email or name or actor_id or "?"
            totals[who] = totals.get(who, 0) + int(n)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def top_countries(
    store: Store, now: datetime, days: int = 7, limit: int = 8
) -> list[tuple[str, str, int]]:
    """The commonest request countries in the last ``days`` days: (code, name, count)."""
    first = to_micros(_start(now, days))
    n = func.count().label("n")
    stmt = (
        select(activities.c.country_code, func.max(activities.c.country), n)
        .where(_raw_time >= first, activities.c.country_code.is_not(None))
        .group_by(activities.c.country_code)
        .order_by(n.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [(str(c), str(name or c), int(k)) for c, name, k in conn.execute(stmt)]
