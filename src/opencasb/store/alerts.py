"""Stored alerts as triage sees them: keyset-paged lists, counts, one alert with its
comments, closing with a resolution, commenting.

Contract:
    * :func:`page_alerts` returns alerts newest last evidence first (``last_time``
      descending, then ``id`` ascending: a unique order) and the position of the last one
      when more follow; passing it back as ``after`` gives the alerts after it, so paging to
      the end returns every match exactly once whatever the page size.
    * An alert is named by its id or by an unambiguous prefix of it.
    * Every close and comment appends an outbox event in the same transaction
      (:mod:`opencasb.store.outbox`); every comment is kept.

The alerts themselves are written by the detection stage (:mod:`opencasb.store.detection`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from opencasb.errors import ConfigError, NotFound
from opencasb.store._db import Database
from opencasb.store.codec import loads
from opencasb.store.outbox import append_event, lock_outbox
from opencasb.store.schema import alert_comments, alerts

__all__ = [
    "RESOLUTIONS",
    "AlertPage",
    "AlertRecord",
    "Comment",
    "alert_detail_json",
    "alert_json",
    "close_alert",
    "comment_alert",
    "count_alerts",
    "count_alerts_by",
    "get_alert",
    "list_alerts",
    "page_alerts",
]

RESOLUTIONS = ("true_positive", "benign", "false_positive")


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment; ``author`` is None for comments stored before authors were recorded."""

    text: str
    created_at: datetime
    author: str | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert; ``comments`` are filled by :func:`get_alert` only."""

    id: str
    policy_id: str
    title: str
    severity: str
    category: str
    tactic: str | None
    entity: str
    explanation: str
    evidence: tuple[int, ...]
    first_time: datetime
    last_time: datetime
    historical: bool
    status: str
    resolution: str | None
    created_at: datetime
    updated_at: datetime
    comments: tuple[Comment, ...] = ()


def alert_json(a: AlertRecord) -> dict[str, Any]:
    """An alert as the API lists it and ``opencasb alerts --format json`` writes it: the one
    shape of an alert in JSON. Times stay datetimes, for the writer to put as ISO 8601 UTC
    (both write them with orjson's ``Z``); the evidence is its count (the ids come with
    :func:`alert_detail_json`)."""
    return {
        "id": a.id,
        "policy_id": a.policy_id,
        "title": a.title,
        "severity": a.severity,
        "category": a.category,
        "tactic": a.tactic,
        "entity": a.entity,
        "explanation": a.explanation,
        "evidence_count": len(a.evidence),
        "first_time": a.first_time,
        "last_time": a.last_time,
        "historical": a.historical,
        "status": a.status,
        "resolution": a.resolution,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


def alert_detail_json(a: AlertRecord) -> dict[str, Any]:
    """One alert as the API reads it and ``opencasb alerts show --format json`` writes it:
    :func:`alert_json` with the evidence activity ids (oldest first) and the comments (each
    with its author: None for one written before authors were kept)."""
    out = alert_json(a)
    out["evidence_ids"] = list(a.evidence)
    out["comments"] = [
        {"text": c.text, "author": c.author, "created_at": c.created_at} for c in a.comments
    ]
    return out


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of alerts; ``next`` is the (last_time, id) of its last one when more follow."""

    items: list[AlertRecord]
    next: tuple[datetime, str] | None


def _alert(r: Any, comments: tuple[Comment, ...] = ()) -> AlertRecord:
    return AlertRecord(
        id=r.id,
        policy_id=r.policy_id,
        title=r.title,
        severity=r.severity,
        category=r.category,
        tactic=r.tactic,
        entity=r.entity,
        explanation=r.explanation,
        evidence=tuple(int(i) for i in loads(r.evidence)),
        first_time=r.first_time,
        last_time=r.last_time,
        historical=bool(r.historical),
        status=r.status,
        resolution=r.resolution,
        created_at=r.created_at,
        updated_at=r.updated_at,
        comments=comments,
    )


def page_alerts(
    db: Database,
    *,
    status: str | None = None,
    severity: str | None = None,
    policy_id: str | None = None,
    entities: Sequence[str] | None = None,
    limit: int = 50,
    after: tuple[datetime, str] | None = None,
) -> AlertPage:
    """At most ``limit`` alerts after ``after`` of the given status, severity, policy and
    entities (None: any), in the module's order. Status, severity and policy are exact
    values; an alert is of ``entities`` when its entity equals one of them case-folded
    (``str.casefold`` on both sides, so the same on both engines: the alert's is stored
    folded, ``alerts.entity_key``), as the app may write an actor in any case."""
    stmt = select(alerts)
    if status:
        stmt = stmt.where(alerts.c.status == status)
    if severity:
        stmt = stmt.where(alerts.c.severity == severity)
    if policy_id:
        stmt = stmt.where(alerts.c.policy_id == policy_id)
    if entities is not None:
        stmt = stmt.where(alerts.c.entity_key.in_(sorted({e.casefold() for e in entities})))
    if after is not None:
        last_time, last_id = after
        stmt = stmt.where(
            or_(
                alerts.c.last_time < last_time,
                and_(alerts.c.last_time == last_time, alerts.c.id > last_id),
            )
        )
    stmt = stmt.order_by(alerts.c.last_time.desc(), alerts.c.id).limit(limit + 1)
    with db.read() as conn:
        rows = [_alert(r) for r in conn.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return AlertPage(rows, (rows[-1].last_time, rows[-1].id) if more else None)


def list_alerts(
    db: Database,
    *,
    status: str | None = None,
    severity: str | None = None,
    limit: int = 1000,
) -> list[AlertRecord]:
    """The first ``limit`` alerts of :func:`page_alerts`."""
    return page_alerts(db, status=status, severity=severity, limit=limit).items


def count_alerts(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(alerts)).scalar() or 0)


def count_alerts_by(db: Database, column: str, *, status: str | None = None) -> dict[str, int]:
    """The number of alerts (of ``status``, or all) per value of ``column`` (``policy_id``
    or ``severity``)."""
    if column not in ("policy_id", "severity"):
        raise ValueError(f"alerts are not counted by {column!r}")
    col = alerts.c[column]
    stmt = select(col, func.count()).group_by(col)
    if status:
        stmt = stmt.where(alerts.c.status == status)
    with db.read() as conn:
        return {str(k): int(n) for k, n in conn.execute(stmt)}


def _find(conn: Connection, alert_id: str) -> Any:
    """The row of the alert ``alert_id`` or of the one alert whose id starts with it."""
    rows = conn.execute(
        select(alerts).where(alerts.c.id.like(_prefix(alert_id), escape="\\")).limit(2)
    ).all()
    exact = [r for r in rows if r.id == alert_id]
    if exact:
        return exact[0]
    if len(rows) != 1:
        raise NotFound(
            f"no alert {alert_id!r}" if not rows else f"alert id {alert_id!r} is ambiguous",
            fix="'opencasb alerts' lists the alerts with their ids.",
        )
    return rows[0]


def _prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def get_alert(db: Database, alert_id: str) -> AlertRecord:
    """The alert (an unambiguous id prefix is enough), with its comments, oldest first.

    Raises:
        NotFound: no alert, or more than one, has such an id.
    """
    with db.read() as conn:
        row = _find(conn, alert_id)
        comments = tuple(
            Comment(c.text, c.created_at, c.author)
            for c in conn.execute(
                select(alert_comments)
                .where(alert_comments.c.alert_id == row.id)
                .order_by(alert_comments.c.id)
            )
        )
    return _alert(row, comments)


def close_alert(
    db: Database,
    alert_id: str,
    resolution: str,
    comment: str | None = None,
    author: str | None = None,
) -> str:
    """Close the alert as ``resolution`` (one of :data:`RESOLUTIONS`), with an optional
    comment by ``author``; returns its full id. Closing a closed alert changes its
    resolution."""
    if resolution not in RESOLUTIONS:
        raise ConfigError(
            f"unknown resolution {resolution!r}",
            fix=f"use one of: {', '.join(RESOLUTIONS)}",
            code="bad_resolution",
        )
    now = db.clock.now()
    with db.write() as conn:
        lock_outbox(conn)
        row = _find(conn, alert_id)
        conn.execute(
            update(alerts)
            .where(alerts.c.id == row.id)
            .values(status="closed", resolution=resolution, updated_at=now)
        )
        if comment:
            conn.execute(
                insert(alert_comments).values(
                    alert_id=row.id, text=comment, created_at=now, author=author
                )
            )
        append_event(conn, row.id, "closed", now, comment, author if comment else None)
    return str(row.id)


def comment_alert(db: Database, alert_id: str, text: str, author: str | None = None) -> str:
    """Add a comment by ``author`` (a portal user, or the CLI's OS user) to the alert;
    returns its full id."""
    now = db.clock.now()
    with db.write() as conn:
        lock_outbox(conn)
        row = _find(conn, alert_id)
        conn.execute(
            insert(alert_comments).values(alert_id=row.id, text=text, created_at=now, author=author)
        )
        conn.execute(update(alerts).where(alerts.c.id == row.id).values(updated_at=now))
        append_event(conn, row.id, "commented", now, text, author)
    return str(row.id)
