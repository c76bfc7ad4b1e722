"""The activities layout before revision 0002 (one column per field, raw JSON as text).

Bench and test only: it lets ``bench_store.py`` measure the old layout beside the new one in
one run, and the migration test write old rows to convert. It is a frozen copy of the old
row encoder, reader and query shapes; the store itself no longer knows this layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from alembic import command
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    MetaData,
    Select,
    Table,
    Text,
    or_,
    select,
    text,
)

from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import Store, open_store
from opencasb.store.activities import _actor_ids
from opencasb.store.codec import actor_key, dumps, loads
from opencasb.store.engine import migration_config
from opencasb.store.instances import instance_names
from opencasb.store.ipkey import ip_key, ip_range
from opencasb.store.query import matching_actors
from opencasb.store.schema import from_micros, to_micros

__all__ = ["OLD_COLUMNS", "old_activity", "old_query", "old_row", "open_old_store", "save_old_page"]

OLD_COLUMNS: tuple[str, ...] = (
    "instance_id",
    "source_event_id",
    "time",
    "app",
    "activity_type",
    "category",
    "action",
    "outcome",
    "outcome_detail",
    "outcome_reason",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_type",
    "targets",
    "src_ip",
    "ip_key",
    "country",
    "country_code",
    "region",
    "city",
    "lat",
    "lon",
    "asn",
    "isp",
    "user_agent",
    "device",
    "severity",
    "description",
    "details",
    "raw",
    "actor_ref",
    "origin",
)
READ_COLUMNS = ("id", *(c for c in OLD_COLUMNS if c not in ("actor_ref", "ip_key", "origin")))
_INSERT = text(
    f"INSERT INTO activities ({', '.join(OLD_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in OLD_COLUMNS)}) "
    "ON CONFLICT (instance_id, source_event_id) DO NOTHING"
)


_SQLITE_INSERT = (
    f"INSERT INTO activities ({', '.join(OLD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in OLD_COLUMNS)}) "
    "ON CONFLICT (instance_id, source_event_id) DO NOTHING"
)


def open_old_store(url: str, key: bytes) -> Store:
    """A store at ``url`` migrated to revision 0003 only (the old layout)."""
    store = open_store(url, key=key, run_migrations=False)
    with store.engine.begin() as conn:
        command.upgrade(migration_config(conn), "0003")
    return store


def _targets(targets: tuple[Target, ...]) -> str:
    return orjson.dumps(
        [
            {"id": t.id, "type": t.type, "name": t.name, "alternate_id": t.alternate_id}
            for t in targets
        ]
    ).decode()


def old_row(instance_id: int, a: Activity, raw_text: str | None = None) -> list[Any]:
    """The old row of ``a`` without ``actor_ref`` and ``origin`` (as the old activity_head
    + raw_json)."""
    geo = a.geo or Geo()
    email = a.actor.email
    return [
        instance_id,
        a.source_event_id,
        to_micros(a.time),
        a.app,
        a.activity_type,
        Category(a.category).value,
        a.action,
        Outcome(a.outcome).value,
        a.outcome_detail,
        a.outcome_reason,
        a.actor.id,
        a.actor.name,
        email.lower() if email else None,
        a.actor.type,
        _targets(a.targets) if a.targets else "[]",
        a.src_ip,
        ip_key(a.src_ip) if a.src_ip else None,
        geo.country,
        geo.country_code.upper() if geo.country_code else None,
        geo.region,
        geo.city,
        geo.lat,
        geo.lon,
        a.asn,
        a.isp,
        a.user_agent,
        a.device,
        a.severity,
        a.description,
        dumps(a.details) if a.details else "{}",
        raw_text if raw_text is not None else dumps(a.raw),
    ]


def save_old_page(
    store: Store,
    instance_id: int,
    batch: Sequence[Activity],
    raw_texts: Sequence[str | None] | None = None,
) -> None:
    """Insert ``batch`` in the old layout as the old save_page did: actors interned first,
    then one executemany in one transaction (``raw_texts``: the raw column as fetched)."""
    db = store._db
    keys = [actor_key(a.actor) for a in batch]
    cache = _actor_ids(db, instance_id, keys).by_key
    texts = raw_texts if raw_texts is not None else [None] * len(batch)
    rows = [
        dict(
            zip(
                OLD_COLUMNS,
                (*old_row(instance_id, a, t), None if k is None else cache[k], "api:logs"),
                strict=True,
            )
        )
        for a, k, t in zip(batch, keys, texts, strict=True)
    ]
    with db.write() as conn:
        if db.is_sqlite:  # as the old writer did: positional rows, no per-row dicts
            conn.exec_driver_sql(_SQLITE_INSERT, [tuple(r.values()) for r in rows])
        else:
            conn.execute(_INSERT, rows)


def old_activity(row: Sequence[Any], names: Mapping[int, str]) -> Activity:
    """An old row (``READ_COLUMNS`` order) as the old activity_from_row read it."""
    m = dict(zip(READ_COLUMNS, row, strict=True))
    geo_parts = [m[c] for c in ("country", "country_code", "region", "city", "lat", "lon")]
    return Activity(
        time=from_micros(m["time"]),
        app=m["app"],
        source_event_id=m["source_event_id"],
        activity_type=m["activity_type"],
        category=Category(m["category"]),
        action=m["action"],
        outcome=Outcome(m["outcome"]),
        actor=Actor(m["actor_id"], m["actor_name"], m["actor_email"], m["actor_type"]),
        raw=loads(m["raw"]),
        instance=names.get(m["instance_id"], ""),
        outcome_detail=m["outcome_detail"],
        outcome_reason=m["outcome_reason"],
        targets=tuple(Target(**t) for t in loads(m["targets"])),
        src_ip=m["src_ip"],
        geo=Geo(*geo_parts) if any(v is not None for v in geo_parts) else None,
        asn=m["asn"],
        isp=m["isp"],
        user_agent=m["user_agent"],
        device=m["device"],
        severity=m["severity"],
        description=m["description"],
        details=loads(m["details"]),
    )


_md = MetaData()
OLD_TABLE = Table(
    "activities",
    _md,
    Column("id", BigInteger, primary_key=True),
    *(
        Column(c, BigInteger if c in ("time", "asn", "actor_ref", "instance_id") else Text)
        for c in OLD_COLUMNS
        if c not in ("lat", "lon")
    ),
    Column("lat", Float),
    Column("lon", Float),
)


def _old_select(
    *,
    actor_ref: int | None,
    ip: str | None,
    activity_type: str | None,
    country_code: str | None,
    text_filter: str | None,
    like: str,
    limit: int,
) -> Select[Any]:
    """The old build_select's statement for these filters (built per call, as it was)."""
    a = OLD_TABLE.c
    conds: list[ColumnElement[bool]] = []
    if activity_type is not None:
        conds.append(a.activity_type == activity_type)
    if ip is not None:
        low, high = ip_range(ip)
        conds.append(a.ip_key == low if low == high else a.ip_key.between(low, high))
    if country_code is not None:
        conds.append(a.country_code == country_code)
    if text_filter is not None:
        escaped = text_filter.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = "%" + escaped + "%"
        cols = (a.raw, a.targets, a.description, a.action)
        if like == "LIKE":
            conds.append(or_(*(c.like(pattern, escape="\\") for c in cols)))
        else:
            conds.append(or_(*(c.ilike(pattern, escape="\\") for c in cols)))
    if actor_ref is not None:
        conds.append(a.actor_ref == actor_ref)
    stmt = select(*(a[c] for c in READ_COLUMNS)).where(*conds)
    return stmt.order_by(a.time.desc(), a.id.desc()).limit(limit)


def old_query(
    store: Store,
    *,
    user: str | None = None,
    ip: str | None = None,
    activity_type: str | None = None,
    country_code: str | None = None,
    text_filter: str | None = None,
    like: str = "LIKE",
    limit: int = 101,
) -> list[Activity]:
    """A first page as the old query_activities read it for these filters: instance names
    read per query, the user's actors looked up, the same statement shape, WHERE, ORDER BY
    and index as the old build_select, the old columns and reader (``like``: LIKE as on
    SQLite, ILIKE as on PostgreSQL)."""
    db = store._db
    names = instance_names(db)
    with db.read() as conn:
        ref = None
        if user is not None:
            refs = matching_actors(conn, user, None)
            if not refs:
                return []  # as the old query: a user nobody is matches nothing
            assert len(refs) == 1, refs  # the bench's users are distinct
            ref = refs[0]
        stmt = _old_select(
            actor_ref=ref,
            ip=ip,
            activity_type=activity_type,
            country_code=country_code,
            text_filter=text_filter,
            like=like,
            limit=limit,
        )
        rows = conn.execute(stmt).all()
    return [old_activity(r, names) for r in rows]
