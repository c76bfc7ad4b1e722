"""Compact activities: unindexed fields and the raw record in one compressed body column.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Twenty columns of ``activities`` that no filter reads (category, actor fields, targets,
place, user agent, description, details, raw, ...) become one ``body`` BLOB/bytea, a zstd
frame made by :func:`opencasb.store.codec.activity_body`; ``ip_key`` becomes its 16 bytes
instead of 32 hex digits. Existing rows are converted in batches of :data:`BATCH` by id,
read with this file's own copy of the old row layout, so the conversion does not change when
the codec does. The whole migration is one transaction (see ``store.engine.migrate``): a
large store is locked while it runs (SQLite: 100,000 rows in 8 s on a shared 2-core machine).

SQLite rebuilds the table (a new table filled batch by batch, then renamed), which also
leaves the file compact; PostgreSQL adds the new columns, fills them batch by batch and drops
the old ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store.codec import activity_body, loads
from opencasb.store.schema import from_micros

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEPT = (
    "instance_id",
    "source_event_id",
    "time",
    "app",
    "activity_type",
    "action",
    "outcome",
    "country",
    "country_code",
    "actor_ref",
    "origin",
)
_MOVED = (
    "category",
    "outcome_detail",
    "outcome_reason",
    "actor_id",
    "actor_name",
    "actor_email",
    "actor_type",
    "targets",
    "src_ip",
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
)
_INDEXES = {
    "ix_activities_time_id": ["time", "id"],
    "ix_activities_instance_id_time_id": ["instance_id", "time", "id"],
    "ix_activities_actor_ref_time_id": ["actor_ref", "time", "id"],
    "ix_activities_ip_key_time_id": ["ip_key", "time", "id"],
}
_SELECT = (
    f"SELECT id, ip_key, {', '.join(_KEPT)}, {', '.join(_MOVED)} FROM activities "
    "WHERE id > :last ORDER BY id LIMIT :n"
)


def _old_activity(row: Any) -> tuple[Activity, str]:
    """An old-layout row as the Activity it was read as, and its raw text as stored."""
    m = row._mapping
    geo_parts = [m[c] for c in ("country", "country_code", "region", "city", "lat", "lon")]
    activity = Activity(
        time=from_micros(m["time"]),
        app=m["app"],
        source_event_id=m["source_event_id"],
        activity_type=m["activity_type"],
        category=Category(m["category"]),
        action=m["action"],
        outcome=Outcome(m["outcome"]),
        actor=Actor(m["actor_id"], m["actor_name"], m["actor_email"], m["actor_type"]),
        raw={},  # the body keeps the stored text itself
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
    return activity, m["raw"]


def _converted(rows: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        activity, raw_text = _old_activity(row)
        key = row._mapping["ip_key"]
        out.append(
            {
                "id": row.id,
                **{c: row._mapping[c] for c in _KEPT},
                "ip_bin": bytes.fromhex(key) if key else None,
                "body": activity_body(activity, raw_text),
            }
        )
    return out


def _batches(conn: sa.Connection) -> Any:
    last = -(2**63)
    while True:
        rows = conn.execute(sa.text(_SELECT), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        yield _converted(rows)
        last = rows[-1].id


def _upgrade_sqlite(conn: sa.Connection) -> None:
    op.create_table(
        "activities_new",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("source_event_id", sa.Text(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("app", sa.Text(), nullable=False),
        sa.Column("activity_type", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("country_code", sa.Text(), nullable=True),
        sa.Column("actor_ref", sa.BigInteger(), nullable=True),
        sa.Column("ip_key", sa.LargeBinary(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name="fk_activities_instance_id_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
        sa.UniqueConstraint(
            "instance_id", "source_event_id", name="uq_activities_instance_id_source_event_id"
        ),
    )
    cols = ["id", *_KEPT, "ip_key", "body"]
    insert = sa.text(
        f"INSERT INTO activities_new ({', '.join(cols)}) "
        f"VALUES ({', '.join(':' + ('ip_bin' if c == 'ip_key' else c) for c in cols)})"
    )
    for batch in _batches(conn):
        conn.execute(insert, batch)
    op.drop_table("activities")
    op.rename_table("activities_new", "activities")
    for name, index_cols in _INDEXES.items():
        op.create_index(name, "activities", index_cols)


def _upgrade_postgres(conn: sa.Connection) -> None:
    op.add_column("activities", sa.Column("body", sa.LargeBinary(), nullable=True))
    op.add_column("activities", sa.Column("ip_bin", sa.LargeBinary(), nullable=True))
    update = sa.text("UPDATE activities SET body = :body, ip_bin = :ip_bin WHERE id = :id")
    for batch in _batches(conn):
        conn.execute(update, [{k: r[k] for k in ("id", "body", "ip_bin")} for r in batch])
    op.alter_column("activities", "body", nullable=False)
    op.drop_index("ix_activities_ip_key_time_id", table_name="activities")
    for column in (*_MOVED, "ip_key"):
        op.drop_column("activities", column)
    op.alter_column("activities", "ip_bin", new_column_name="ip_key")
    op.create_index(
        "ix_activities_ip_key_time_id", "activities", _INDEXES["ix_activities_ip_key_time_id"]
    )


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _upgrade_sqlite(conn)
    else:
        _upgrade_postgres(conn)


def downgrade() -> None:
    raise NotImplementedError("activities are not converted back to the uncompressed layout")
