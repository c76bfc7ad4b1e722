"""The activity query: filters -> SQL, newest first, with keyset pagination.

Ordering is ``(time DESC, id DESC)``; ``id`` breaks ties between equal timestamps, so every
row has one place in the order and paging yields each exactly once, even while new rows
arrive (they are newer, hence before the first page). The ``after`` token is opaque to
callers: url-safe base64 of ``"<time µs>.<id>"`` of the last row of the previous page.

The user filter matches the actor's e-mail, id or name, case-insensitively. It first looks
up the matching interned actors (``actors``, a small table with an index per field), then
reads their activities from the ``(actor_ref, time, id)`` index: one branch per matching
actor, each limited to one page and combined by a UNION, so that the first page of even a
very busy user is read straight from the index without sorting their history.

The text filter is a case-insensitive substring match over the raw record, the targets, the
description and the action (:func:`~opencasb.store.textmatch.text_match`). The raw record,
targets and description live in the compressed ``body`` column, which SQL cannot search:
SQLite calls the match as a function registered on each connection (``opencasb_text``), in
the same scan of the time index that LIKE did before; on PostgreSQL rows matching the other
filters are read newest first in chunks and matched here until a page is full. Case folding
is as it was with LIKE/ILIKE: ASCII letters only on SQLite, Unicode lower case on
PostgreSQL. The raw record already holds everything else a user would search for (actor, IP,
place, user agent), so no separate search copy is written at ingest.

A filter's ``ip_tags`` conditions (:class:`~opencasb.store.iptag_spans.LiveTags` in
``where``) are resolved on the query's connection just before it runs: none of the tags is
stored, nothing; few activities carry them, those activities' ids; many, a span probe per
row read from the time index (:func:`~opencasb.store.iptag_spans.resolve_live_tags`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Row,
    Select,
    false,
    func,
    or_,
    select,
    tuple_,
    type_coerce,
    union,
)

from opencasb.errors import ConfigError, NotFound
from opencasb.model.activity import Activity, Outcome
from opencasb.store._db import Database
from opencasb.store.codec import ACTIVITY_READ_COLUMNS, activity_from_row
from opencasb.store.instances import instance_names
from opencasb.store.ipkey import ip_range
from opencasb.store.iptag_spans import resolve_live_tags
from opencasb.store.schema import activities, actors, enrichments, to_micros
from opencasb.store.textmatch import SQLITE_FUNCTION, text_match

__all__ = ["MAX_LIMIT", "ActivityPage", "ActivityQuery", "query_activities"]

MAX_LIMIT = 10_000

# The time column as its stored integer (µs): the keyset token and the row codec work in
# integers, and type_coerce renders no CAST, so indexes still apply.
_RAW_TIME = type_coerce(activities.c.time, BigInteger)


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """Filters over stored activities; every given filter must match (AND).

    Attributes:
        app: app name (``okta``, ``office365``).
        instance: instance name.
        user: actor e-mail, id or name; case-insensitive exact match on any of them.
        activity_type, action: exact match.
        outcome: ``success``, ``failure`` or ``unknown``.
        ip: an address or a CIDR network, IPv4 or IPv6 (``10.0.0.0/8``, ``2001:db8::/32``).
        country: ISO 3166 alpha-2 code (two letters) or country name (case-insensitive) of
            the enriched place (the app's own when the record has one, else the geo
            database's), as stored at ingest; an activity stored before enrichment was kept
            matches no country until ``opencasb enrich --all``.
        since: inclusive lower bound on time; until: exclusive upper bound.
        text: case-insensitive substring of the raw record, targets, description or action
            (case folding of non-ASCII letters depends on the engine).
        limit: page size, 1..10,000.
        after: the ``next_after`` token of the previous page.
        where: one more condition over ``activities`` (AND), e.g. a filter's SQL
            (:func:`opencasb.filters.compile_sql`; :func:`opencasb.filters.search` adds it).
    """

    app: str | None = None
    instance: str | None = None
    user: str | None = None
    activity_type: str | None = None
    action: str | None = None
    outcome: Outcome | str | None = None
    ip: str | None = None
    country: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 100
    after: str | None = None
    where: ColumnElement[bool] | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of results; ``next_after`` is ``None`` on the last page."""

    items: list[Activity]
    next_after: str | None


def encode_after(time_us: int, row_id: int) -> str:
    """The opaque token for a position in the (time, id) order."""
    return base64.urlsafe_b64encode(f"{time_us}.{row_id}".encode()).decode().rstrip("=")


def decode_after(token: str) -> tuple[int, int]:
    """Inverse of :func:`encode_after`; ConfigError on anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        time_text, id_text = base64.urlsafe_b64decode(padded.encode()).decode().split(".")
        key = int(time_text), int(id_text)
        # Both columns are signed 64-bit; a larger number is no token we made, and SQLite
        # would raise OverflowError on it rather than a database error.
        if not all(-(2**63) <= part < 2**63 for part in key):
            raise ValueError("out of range")
        return key
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise ConfigError(
            "invalid page token in 'after'",
            meaning="The 'after' value is not a token this server handed out.",
            fix="Start again from the first page (omit 'after') and pass the next_after "
            "value of each page unchanged.",
            code="bad_page_token",
        ) from exc


def _time(value: datetime, name: str) -> int:
    try:
        return to_micros(value)
    except TypeError as exc:
        raise ConfigError(
            f"'{name}' must include a time zone", fix="Give times in UTC, e.g. ...T12:00:00Z."
        ) from exc


def _conditions(
    q: ActivityQuery, names: dict[int, str], sqlite: bool, dense_ip: bool = False
) -> list[ColumnElement[bool]]:
    a = activities.c
    conds: list[ColumnElement[bool]] = []
    if q.app is not None:
        conds.append(a.app == q.app)
    if q.instance is not None:
        ids = [i for i, n in names.items() if n == q.instance]
        if not ids:
            raise NotFound(f"no app instance named {q.instance!r}", code="instance_not_found")
        conds.append(a.instance_id == ids[0])
    if q.activity_type is not None:
        conds.append(a.activity_type == q.activity_type)
    if q.action is not None:
        conds.append(a.action == q.action)
    if q.outcome is not None:
        try:
            conds.append(a.outcome == Outcome(str(q.outcome).lower()).value)
        except ValueError as exc:
            raise ConfigError(
                f"unknown outcome {q.outcome!r}", fix="Use success, failure or unknown."
            ) from exc
    if q.ip is not None:
        low, high = (bytes.fromhex(k) for k in ip_range(q.ip))
        if low == high:
            conds.append(a.ip_key == low)
        elif dense_ip:
            # An expression no index covers: the time index is read newest first instead
            # (see _dense_ip_range).
            conds.append(func.coalesce(a.ip_key, a.ip_key).between(low, high))
        else:
            conds.append(a.ip_key.between(low, high))
    if q.country is not None:
        c = q.country.strip()
        if len(c) == 2:
            conds.append(a.enrich_cc == c.upper())  # its own (enrich_cc, time, id) index
        else:
            named = enrichments.c.country.ilike(_escape_like(c), escape="\\")
            conds.append(a.enrich_ref.in_(select(enrichments.c.id).where(named)))
    time_col = _RAW_TIME
    if q.since is not None:
        conds.append(time_col >= _time(q.since, "since"))
    if q.until is not None:
        conds.append(time_col < _time(q.until, "until"))
    if q.text and sqlite:
        conds.append(getattr(func, SQLITE_FUNCTION)(a.body, a.action, q.text) == 1)
    if q.where is not None:
        conds.append(q.where)
    if q.after is not None:
        t, i = decode_after(q.after)
        conds.append(tuple_(time_col, a.id) < tuple_(t, i))
    return conds


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ordered(stmt: Select[Any], limit: int) -> Select[Any]:
    return stmt.order_by(activities.c.time.desc(), activities.c.id.desc()).limit(limit)


# Matching actors beyond this many (a very common display name) are not worth a branch
# each; one IN list over all of them is read through the time index instead.
_MAX_ACTOR_BRANCHES = 16


def matching_actors(conn: Connection, user: str, instance_id: int | None) -> list[int]:
    """ids of the interned actors whose id, e-mail or name equals ``user`` (any case)."""
    u = user.strip().lower()
    c = actors.c
    stmt = select(c.id).where(or_(c.email == u, c.actor_id_lc == u, c.name_lc == u))
    if instance_id is not None:
        stmt = stmt.where(c.instance_id == instance_id)
    return [int(r) for r in conn.execute(stmt.order_by(c.id)).scalars()]


def build_select(
    q: ActivityQuery,
    names: dict[int, str],
    limit: int,
    actor_refs: list[int] | None = None,
    *,
    sqlite: bool = True,
    dense_ip: bool = False,
) -> Select[Any]:
    """The SELECT for ``q`` returning :data:`ACTIVITY_READ_COLUMNS`, at most ``limit`` rows.

    On PostgreSQL ``q.text`` is not part of it: the caller matches the rows (see
    :func:`~opencasb.store.textmatch.text_match`).

    ``actor_refs`` must be :func:`matching_actors` of ``q.user`` when a user filter is set;
    ``sqlite`` says which engine the statement is for; ``dense_ip``, that ``q.ip`` is a
    network with many stored activities (:func:`dense_ip_range`).
    """
    cols: list[ColumnElement[Any]] = [activities.c[name] for name in ACTIVITY_READ_COLUMNS]
    # Times are selected raw; codec.activity_from_row converts them.
    cols[ACTIVITY_READ_COLUMNS.index("time")] = _RAW_TIME.label("time")
    conds = _conditions(q, names, sqlite, dense_ip)
    if q.user is None or not q.user.strip():
        if q.ip is not None and not dense_ip and not _single_address(q.ip):
            # A sparse network, read from the IP index: its matches are not in time order
            # (one address's are: its index is (ip_key, time, id), read newest first without
            # a sort), so they are sorted first -- as (time, id) only, then the page's
            # rows are read by id, instead of sorting every match's whole row.
            # The sort key is an expression no index provides, so that neither engine reads
            # the whole time index looking for a few matches (PostgreSQL did: 1.5 s for a
            # /24 with one match in 1,000,000 rows).
            ids = (
                select(activities.c.id)
                .where(*conds)
                .order_by((_RAW_TIME + 0).desc(), activities.c.id.desc())
                .limit(limit)
                .subquery()
            )
            return _ordered(select(*cols).where(activities.c.id.in_(select(ids.c.id))), limit)
        return _ordered(select(*cols).where(*conds), limit)
    refs = actor_refs or []
    ref = activities.c.actor_ref
    if not refs:
        return _ordered(select(*cols).where(false()), limit)
    if len(refs) == 1 or len(refs) > _MAX_ACTOR_BRANCHES:
        match = ref == refs[0] if len(refs) == 1 else ref.in_(refs)
        return _ordered(select(*cols).where(*conds, match), limit)
    branches = [
        _ordered(select(activities.c.id).where(*conds, ref == r), limit).subquery() for r in refs
    ]
    ids = union(*(select(b.c.id) for b in branches)).subquery()
    return _ordered(select(*cols).where(activities.c.id.in_(select(ids.c.id))), limit)


def _single_address(ip: str) -> bool:
    """Whether the ``--ip`` value names one address (a /32 or /128 included)."""
    low, high = ip_range(ip)
    return low == high


# A network with at least this many stored activities is read through the time index.
DENSE_IP_ROWS = 5_000


def dense_ip_range(conn: Connection, q: ActivityQuery) -> bool:
    """Whether ``q.ip`` is a network holding at least :data:`DENSE_IP_ROWS` activities.

    Such a network's first page is found sooner by reading the time index newest first
    than by sorting every match from the IP index (a /8 of a busy office: most rows). The
    count reads the IP index only, and stops at the threshold.
    """
    if q.ip is None:
        return False
    low, high = (bytes.fromhex(k) for k in ip_range(q.ip))
    if low == high:
        return False
    inner = (
        select(activities.c.id)
        .where(activities.c.ip_key.between(low, high))
        .limit(DENSE_IP_ROWS)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(inner)).scalar() or 0) >= (
        DENSE_IP_ROWS
    )


# Rows read per statement while scanning for a text match.
_TEXT_CHUNK = 500


def _scan_text(
    conn: Connection,
    q: ActivityQuery,
    names: dict[int, str],
    refs: list[int] | None,
    dense: bool,
) -> list[Row[Any]]:
    """The first ``q.limit + 1`` rows matching ``q`` including its text filter, on
    PostgreSQL (which cannot call :func:`text_match` itself)."""
    assert q.text
    want = q.limit + 1
    needle = q.text
    found: list[Row[Any]] = []
    chunk_q = replace(q, text=None)
    while True:
        stmt = build_select(chunk_q, names, _TEXT_CHUNK, refs, sqlite=False, dense_ip=dense)
        rows = conn.execute(stmt).all()
        for row in rows:
            if text_match(bytes(row.body), row.action, needle, sqlite=False):
                found.append(row)
                if len(found) == want:
                    return found
        if len(rows) < _TEXT_CHUNK:
            return found
        chunk_q = replace(chunk_q, after=encode_after(rows[-1].time, rows[-1].id))


def query_activities(db: Database, q: ActivityQuery) -> ActivityPage:
    """Run ``q``; see :meth:`opencasb.store.Store.query_activities`."""
    if not 1 <= q.limit <= MAX_LIMIT:
        raise ConfigError(
            f"limit must be between 1 and {MAX_LIMIT}, got {q.limit}",
            fix="Ask for smaller pages and follow next_after.",
            code="bad_limit",
        )
    names = instance_names(db)
    with db.read() as conn:
        refs = None
        if q.user is not None and q.user.strip():
            instance_id = next((i for i, n in names.items() if n == q.instance), None)
            refs = matching_actors(conn, q.user, instance_id)
        dense = dense_ip_range(conn, q)
        if q.where is not None:
            # a filter's ip_tags conditions, in the form that is fastest for the tags and
            # activities stored now (store.iptag_spans)
            q = replace(q, where=resolve_live_tags(conn, q.where))
        # one extra row tells whether a next page exists
        if q.text and not db.is_sqlite:
            rows = _scan_text(conn, q, names, refs, dense)
        else:
            stmt = build_select(q, names, q.limit + 1, refs, sqlite=db.is_sqlite, dense_ip=dense)
            rows = list(conn.execute(stmt))
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    items = [activity_from_row(r, names) for r in rows]
    next_after = encode_after(rows[-1].time, rows[-1].id) if more else None
    return ActivityPage(items=items, next_after=next_after)
