"""What detection keeps in the store: policies, stage cursors and state, alerts, comments.

Contract:
    * :func:`activities_after` reads stored activities after a cursor per instance, in id
      order (the stage's input: an instance's ids commit in order, so "after" is "new").
    * :func:`commit_stages` writes one pass of one or more stages in ONE transaction: the
      alerts (new ones inserted; an alert that exists is extended, its evidence the union of
      both, so writing the same pass twice changes nothing), policies the stages disabled
      (with the reason), each stage's state and new cursor, and an outbox event for each
      alert opened or given new evidence (:mod:`opencasb.store.outbox`). It writes nothing
      and returns False when any stage's stored cursor and state are no longer what its
      :class:`StageWrite` expected (another process committed first).
      :func:`commit_stage` is the one-stage form.
    * Alerts are closed with a resolution and commented on; every comment is kept, and each
      close or comment appends an outbox event in the same transaction.

This module knows rows, not the policy model: the detection stage
(:mod:`opencasb.detect.stage`) turns findings into :class:`AlertWrite`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, delete, func, insert, select, type_coerce, update

from opencasb.errors import ConfigError, NotFound
from opencasb.model.activity import Activity
from opencasb.store._db import Database
from opencasb.store.codec import ACTIVITY_READ_COLUMNS, activity_from_row, dumps, loads
from opencasb.store.instances import instance_names
from opencasb.store.outbox import append_event, lock_outbox
from opencasb.store.schema import activities, alert_comments, alerts, policies, stage_state

__all__ = [
    "RESOLUTIONS",
    "AlertRecord",
    "AlertWrite",
    "Comment",
    "DetectionStore",
    "PolicyRecord",
    "StageState",
    "StageWrite",
    "activities_after",
    "activities_by_id",
    "close_alert",
    "comment_alert",
    "commit_stage",
    "commit_stages",
    "count_alerts",
    "delete_policy",
    "get_alert",
    "get_stage",
    "list_alerts",
    "list_policies",
    "save_policy",
    "set_policy_enabled",
]

RESOLUTIONS = ("true_positive", "benign", "false_positive")


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """One stored policy: ``definition`` is its YAML (one policy)."""

    id: str
    name: str
    definition: str
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StageState:
    """A stage's position: the last activity id it has seen and its state (JSON text)."""

    cursor: int
    state: str


@dataclass(frozen=True, slots=True)
class StageWrite:
    """One stage's part of a pass: ``expected`` is the cursor and state the pass started from
    (None: the stage had no row yet), ``cursor``/``state`` what to store instead."""

    stage: str
    expected: StageState | None
    cursor: int
    state: str


@dataclass(frozen=True, slots=True)
class AlertWrite:
    """An alert as a stage pass produces it (new, or extending the alert of ``id``)."""

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


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    created_at: datetime


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


_RAW_TIME = type_coerce(activities.c.time, BigInteger)


def _activity_cols() -> list[Any]:
    cols: list[Any] = [activities.c[name] for name in ACTIVITY_READ_COLUMNS]
    cols[ACTIVITY_READ_COLUMNS.index("time")] = _RAW_TIME.label("time")
    return cols


def activities_after(
    db: Database,
    cursors: Mapping[int, int],
    limit: int,
    upto: Mapping[int, int] | None = None,
) -> list[tuple[int, int, Activity]]:
    """At most ``limit`` activities stored after the per-instance ``cursors`` (instance id ->
    last id seen; 0 when absent), as ``(id, instance id, activity)`` in id order. With
    ``upto`` (instance id -> last id wanted; 0 when absent), only ids up to it: what a
    stage catching up with another stage's cursors reads.

    Per instance, so that "after the cursor" means "committed after": one instance is
    written by one process at a time (its lease), so its ids commit in order, while two
    instances synced by two processes on PostgreSQL may commit a lower id after a higher one.
    What is returned of each instance is a prefix of its new activities in id order."""
    names = instance_names(db)
    rows: list[Any] = []
    with db.read() as conn:
        for iid in sorted(names):
            after = cursors.get(iid, 0)
            stmt = select(*_activity_cols()).where(
                activities.c.instance_id == iid, activities.c.id > after
            )
            if upto is not None:
                if upto.get(iid, 0) <= after:
                    continue
                stmt = stmt.where(activities.c.id <= upto[iid])
            rows += conn.execute(stmt.order_by(activities.c.id).limit(limit)).all()
    rows.sort(key=lambda r: int(r.id))
    return [(int(r.id), int(r.instance_id), activity_from_row(r, names)) for r in rows[:limit]]


def activities_by_id(db: Database, ids: Sequence[int]) -> dict[int, Activity]:
    """The stored activities among ``ids`` (ids pruned by retention are simply absent)."""
    names = instance_names(db)
    out: dict[int, Activity] = {}
    with db.read() as conn:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            stmt = select(*_activity_cols()).where(activities.c.id.in_(chunk))
            for r in conn.execute(stmt):
                out[int(r.id)] = activity_from_row(r, names)
    return out


# ---------------------------------------------------------------------------- policies


def _policy(r: Any) -> PolicyRecord:
    return PolicyRecord(
        r.id, r.name, r.definition, bool(r.enabled), r.disabled_reason, r.created_at, r.updated_at
    )


def list_policies(db: Database) -> list[PolicyRecord]:
    """Every stored policy, by id."""
    with db.read() as conn:
        return [_policy(r) for r in conn.execute(select(policies).order_by(policies.c.id))]


def save_policy(db: Database, policy_id: str, name: str, definition: str, enabled: bool) -> None:
    """Insert or replace the policy ``policy_id``; saving clears any disabled reason."""
    now = db.clock.now()
    values = {"name": name, "definition": definition, "enabled": enabled}
    with db.write() as conn:
        done = conn.execute(
            update(policies)
            .where(policies.c.id == policy_id)
            .values(**values, disabled_reason=None, updated_at=now)
        ).rowcount
        if not done:
            conn.execute(
                insert(policies).values(
                    id=policy_id, **values, disabled_reason=None, created_at=now, updated_at=now
                )
            )


def set_policy_enabled(
    db: Database, policy_id: str, enabled: bool, reason: str | None = None
) -> None:
    """Switch a stored policy on (clearing its reason) or off (keeping ``reason``).

    Raises:
        NotFound: no stored policy has that id.
    """
    with db.write() as conn:
        _set_enabled(conn, policy_id, enabled, reason, db.clock.now())


def _set_enabled(
    conn: Connection, policy_id: str, enabled: bool, reason: str | None, now: datetime
) -> None:
    done = conn.execute(
        update(policies)
        .where(policies.c.id == policy_id)
        .values(enabled=enabled, disabled_reason=None if enabled else reason, updated_at=now)
    ).rowcount
    if not done:
        raise NotFound(
            f"no policy {policy_id!r}", fix="'opencasb policies list' shows the stored ones."
        )


def delete_policy(db: Database, policy_id: str) -> None:
    """Remove a stored policy (its alerts stay)."""
    with db.write() as conn:
        conn.execute(delete(policies).where(policies.c.id == policy_id))


# ---------------------------------------------------------------------------- stages


def get_stage(db: Database, stage: str) -> StageState | None:
    """The stage's committed cursor and state, or None before its first commit."""
    with db.read() as conn:
        row = conn.execute(
            select(stage_state.c.cursor, stage_state.c.state).where(stage_state.c.stage == stage)
        ).first()
    return None if row is None else StageState(int(row.cursor), row.state)


def commit_stage(
    db: Database,
    stage: str,
    *,
    expected: StageState | None,
    cursor: int,
    state: str,
    new_alerts: Sequence[AlertWrite],
    disabled: dict[str, str],
) -> bool:
    """Commit one pass of ``stage`` (see the module contract). ``expected`` is the cursor
    and state the pass started from (None: the stage had no row yet); the commit happens
    only if both are still what is stored."""
    return commit_stages(
        db, [StageWrite(stage, expected, cursor, state)], new_alerts=new_alerts, disabled=disabled
    )


def commit_stages(
    db: Database,
    writes: Sequence[StageWrite],
    *,
    new_alerts: Sequence[AlertWrite],
    disabled: dict[str, str],
) -> bool:
    """Commit one pass of every stage in ``writes``, with the alerts and the policies
    disabled, in one transaction: all of it, or (False) nothing when any stage's row is no
    longer what its write expected."""
    now = db.clock.now()
    try:
        with db.write() as conn:
            if new_alerts:
                lock_outbox(conn)
            for w in writes:
                if not _move_stage(conn, w, now):
                    raise _Moved  # rolls back the stages already written
            for alert in new_alerts:
                if kind := _write_alert(conn, alert, now):
                    append_event(conn, alert.id, kind, now)
            for policy_id, reason in disabled.items():
                conn.execute(
                    update(policies)
                    .where(policies.c.id == policy_id)
                    .values(enabled=False, disabled_reason=reason, updated_at=now)
                )
    except _Moved:
        return False
    return True


class _Moved(Exception):
    """A stage row is no longer what the pass started from."""


def _move_stage(conn: Connection, w: StageWrite, now: datetime) -> bool:
    """Write ``w``'s row if it is still as expected; False (nothing written) if not."""
    if w.expected is None:
        if conn.execute(select(stage_state.c.stage).where(stage_state.c.stage == w.stage)).first():
            return False
        conn.execute(
            insert(stage_state).values(
                stage=w.stage, cursor=w.cursor, state=w.state, updated_at=now
            )
        )
        return True
    moved = conn.execute(
        update(stage_state)
        .where(
            stage_state.c.stage == w.stage,
            stage_state.c.cursor == w.expected.cursor,
            stage_state.c.state == w.expected.state,
        )
        .values(cursor=w.cursor, state=w.state, updated_at=now)
    ).rowcount
    return bool(moved)


def _write_alert(conn: Connection, a: AlertWrite, now: datetime) -> str | None:
    """Insert or extend the alert; returns the outbox event kind (None: nothing new)."""
    old = conn.execute(
        select(alerts.c.evidence, alerts.c.first_time, alerts.c.last_time).where(
            alerts.c.id == a.id
        )
    ).first()
    if old is None:
        conn.execute(
            insert(alerts).values(
                id=a.id,
                policy_id=a.policy_id,
                title=a.title,
                severity=a.severity,
                category=a.category,
                tactic=a.tactic,
                entity=a.entity,
                explanation=a.explanation,
                evidence=dumps(sorted(set(a.evidence))),
                first_time=a.first_time,
                last_time=a.last_time,
                historical=a.historical,
                status="open",
                resolution=None,
                created_at=now,
                updated_at=now,
            )
        )
        return "opened"
    had = set(loads(old.evidence))
    evidence = sorted(had | set(a.evidence))
    conn.execute(
        update(alerts)
        .where(alerts.c.id == a.id)
        .values(
            evidence=dumps(evidence),
            explanation=a.explanation,
            first_time=min(old.first_time, a.first_time),
            last_time=max(old.last_time, a.last_time),
            updated_at=now,
        )
    )
    return "extended" if len(evidence) > len(had) else None


# ---------------------------------------------------------------------------- alerts


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


def list_alerts(
    db: Database,
    *,
    status: str | None = None,
    severity: str | None = None,
    limit: int = 1000,
) -> list[AlertRecord]:
    """Alerts, newest last evidence first, optionally of one status and severity."""
    stmt = select(alerts)
    if status:
        stmt = stmt.where(alerts.c.status == status)
    if severity:
        stmt = stmt.where(alerts.c.severity == severity)
    stmt = stmt.order_by(alerts.c.last_time.desc(), alerts.c.id).limit(limit)
    with db.read() as conn:
        return [_alert(r) for r in conn.execute(stmt)]


def count_alerts(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(alerts)).scalar() or 0)


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
            Comment(c.text, c.created_at)
            for c in conn.execute(
                select(alert_comments)
                .where(alert_comments.c.alert_id == row.id)
                .order_by(alert_comments.c.id)
            )
        )
    return _alert(row, comments)


def close_alert(db: Database, alert_id: str, resolution: str, comment: str | None = None) -> str:
    """Close the alert as ``resolution`` (one of :data:`RESOLUTIONS`), with an optional
    comment; returns its full id. Closing a closed alert changes its resolution."""
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
                insert(alert_comments).values(alert_id=row.id, text=comment, created_at=now)
            )
        append_event(conn, row.id, "closed", now, comment)
    return str(row.id)


def comment_alert(db: Database, alert_id: str, text: str) -> str:
    """Add a comment to the alert; returns its full id."""
    now = db.clock.now()
    with db.write() as conn:
        lock_outbox(conn)
        row = _find(conn, alert_id)
        conn.execute(insert(alert_comments).values(alert_id=row.id, text=text, created_at=now))
        conn.execute(update(alerts).where(alerts.c.id == row.id).values(updated_at=now))
        append_event(conn, row.id, "commented", now, text)
    return str(row.id)


class DetectionStore:
    """The functions of this module bound to one store: ``store.detection``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def clock_now(self) -> datetime:
        return self._db.clock.now()

    def activities_after(
        self, cursors: Mapping[int, int], limit: int, upto: Mapping[int, int] | None = None
    ) -> list[tuple[int, int, Activity]]:
        return activities_after(self._db, cursors, limit, upto)

    def activities_by_id(self, ids: Sequence[int]) -> dict[int, Activity]:
        return activities_by_id(self._db, ids)

    def list_policies(self) -> list[PolicyRecord]:
        return list_policies(self._db)

    def save_policy(self, policy_id: str, name: str, definition: str, enabled: bool) -> None:
        save_policy(self._db, policy_id, name, definition, enabled)

    def set_policy_enabled(self, policy_id: str, enabled: bool, reason: str | None = None) -> None:
        set_policy_enabled(self._db, policy_id, enabled, reason)

    def delete_policy(self, policy_id: str) -> None:
        delete_policy(self._db, policy_id)

    def get_stage(self, stage: str) -> StageState | None:
        return get_stage(self._db, stage)

    def commit_stage(
        self,
        stage: str,
        *,
        expected: StageState | None,
        cursor: int,
        state: str,
        new_alerts: Sequence[AlertWrite],
        disabled: dict[str, str],
    ) -> bool:
        return commit_stage(
            self._db,
            stage,
            expected=expected,
            cursor=cursor,
            state=state,
            new_alerts=new_alerts,
            disabled=disabled,
        )

    def commit_stages(
        self,
        writes: Sequence[StageWrite],
        *,
        new_alerts: Sequence[AlertWrite],
        disabled: dict[str, str],
    ) -> bool:
        return commit_stages(self._db, writes, new_alerts=new_alerts, disabled=disabled)

    def list_alerts(
        self, *, status: str | None = None, severity: str | None = None, limit: int = 1000
    ) -> list[AlertRecord]:
        return list_alerts(self._db, status=status, severity=severity, limit=limit)

    def count_alerts(self) -> int:
        return count_alerts(self._db)

    def get_alert(self, alert_id: str) -> AlertRecord:
        return get_alert(self._db, alert_id)

    def close_alert(self, alert_id: str, resolution: str, comment: str | None = None) -> str:
        return close_alert(self._db, alert_id, resolution, comment)

    def comment_alert(self, alert_id: str, text: str) -> str:
        return comment_alert(self._db, alert_id, text)
