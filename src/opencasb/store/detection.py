"""What detection keeps in the store: policies, stage cursors and state, alerts, comments.

Contract:
    * :func:`activities_after` reads stored activities after a cursor per instance, in id
      order (the stage's input: an instance's ids commit in order, so "after" is "new");
      :func:`observed_after` (:mod:`opencasb.store.observed`) gives each one as a
      :class:`~opencasb.store.observed.Observed`: what detection decides on from the row's
      columns, the body decoded on demand.
    * :func:`commit_stages` writes one pass of one or more stages in ONE transaction: the
      alerts (new ones inserted; an alert that exists is extended, its evidence the union of
      both, so writing the same pass twice changes nothing), policies the stages disabled
      (with the reason), each stage's state and new cursor, and an outbox event for each
      alert opened or given new evidence (:mod:`opencasb.store.outbox`), and the per-key
      parts of each stage's state that changed (``stage_partitions``). It writes nothing
      and returns False when any stage's stored cursor and state are no longer what its
      :class:`StageWrite` expected (another process committed first).
      :func:`commit_stage` is the one-stage form.
    * Alerts are read, paged, closed and commented on through :mod:`opencasb.store.alerts`
      (its names are re-exported here and bound on :class:`DetectionStore`).

This module knows rows, not the policy model: the detection stage
(:mod:`opencasb.detect.stage`) turns findings into :class:`AlertWrite`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    insert,
    select,
    update,
)

from opencasb.errors import NotFound
from opencasb.model.activity import Activity
from opencasb.store import alerts as _alerts
from opencasb.store._db import Database
from opencasb.store.alerts import RESOLUTIONS, AlertPage, AlertRecord, Comment
from opencasb.store.codec import activity_from_row, dumps, loads
from opencasb.store.instances import instance_names
from opencasb.store.observed import (
    EnrichStored,
    Observed,
    activity_columns,
    after_statement,
    observed_after,
)
from opencasb.store.outbox import append_event, lock_outbox
from opencasb.store.schema import activities, alerts, policies, stage_partitions, stage_state

__all__ = [
    "RESOLUTIONS",
    "AlertPage",
    "AlertRecord",
    "AlertWrite",
    "Comment",
    "DetectionStore",
    "PolicyRecord",
    "StageState",
    "StageWrite",
    "activities_after",
    "activities_by_id",
    "after_statement",
    "commit_stage",
    "commit_stages",
    "delete_policy",
    "get_partitions",
    "get_stage",
    "list_policies",
    "observed_after",
    "save_policy",
    "set_policy_enabled",
]


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
    (None: the stage had no row yet), ``cursor``/``state`` what to store instead, and
    ``partitions`` the per-key parts of its state that changed (key -> state text; None
    removes the key), written with the row; the keys not named are left as stored."""

    stage: str
    expected: StageState | None
    cursor: int
    state: str
    partitions: Mapping[str, str | None] = field(default_factory=dict)


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
    What is returned of each instance is a prefix of its new activities in id order.

    Each activity's ``raw`` is a :class:`~opencasb.store.lazy.LazyRecord`: parsed on first
    use, when a damaged one raises the :class:`~opencasb.errors.StoreError` naming its row."""
    return [(o.id, o.instance_id, o.activity) for o in observed_after(db, cursors, limit, upto)]


def activities_by_id(db: Database, ids: Sequence[int]) -> dict[int, Activity]:
    """The stored activities among ``ids`` (ids pruned by retention are simply absent)."""
    names = instance_names(db)
    out: dict[int, Activity] = {}
    with db.read() as conn:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            stmt = select(*activity_columns()).where(activities.c.id.in_(chunk))
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


def get_partitions(db: Database, stage: str) -> dict[str, str]:
    """Every per-key part of ``stage``'s state as committed (key -> state text)."""
    with db.read() as conn:
        rows = conn.execute(
            select(stage_partitions.c.key, stage_partitions.c.state).where(
                stage_partitions.c.stage == stage
            )
        )
        return {r.key: r.state for r in rows}


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
                _write_partitions(conn, w)
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


def _write_partitions(conn: Connection, w: StageWrite) -> None:
    """Replace the partitions ``w`` names (after its row moved: the same transaction)."""
    keys = sorted(w.partitions)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        conn.execute(
            delete(stage_partitions).where(
                stage_partitions.c.stage == w.stage, stage_partitions.c.key.in_(chunk)
            )
        )
        rows = [
            {"stage": w.stage, "key": k, "state": text}
            for k in chunk
            if (text := w.partitions[k]) is not None
        ]
        if rows:
            conn.execute(insert(stage_partitions), rows)


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
                entity_key=a.entity.casefold(),
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

    def observed_after(
        self,
        cursors: Mapping[int, int],
        limit: int,
        upto: Mapping[int, int] | None = None,
        enrich: EnrichStored | None = None,
    ) -> list[Observed]:
        return observed_after(self._db, cursors, limit, upto, enrich)

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

    def get_partitions(self, stage: str) -> dict[str, str]:
        return get_partitions(self._db, stage)

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
        return _alerts.list_alerts(self._db, status=status, severity=severity, limit=limit)

    def page_alerts(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        policy_id: str | None = None,
        entities: Sequence[str] | None = None,
        limit: int = 50,
        after: tuple[datetime, str] | None = None,
    ) -> AlertPage:
        return _alerts.page_alerts(
            self._db,
            status=status,
            severity=severity,
            policy_id=policy_id,
            entities=entities,
            limit=limit,
            after=after,
        )

    def count_alerts(self) -> int:
        return _alerts.count_alerts(self._db)

    def count_alerts_by(self, column: str, *, status: str | None = None) -> dict[str, int]:
        return _alerts.count_alerts_by(self._db, column, status=status)

    def get_alert(self, alert_id: str) -> AlertRecord:
        return _alerts.get_alert(self._db, alert_id)

    def close_alert(
        self,
        alert_id: str,
        resolution: str,
        comment: str | None = None,
        author: str | None = None,
    ) -> str:
        return _alerts.close_alert(self._db, alert_id, resolution, comment, author)

    def comment_alert(self, alert_id: str, text: str, author: str | None = None) -> str:
        return _alerts.comment_alert(self._db, alert_id, text, author)
