"""Initial schema: instances, cursors, activities, rejected records, inventory.

Revision ID: 0001
Revises:
Create Date: 2026-11-01

Times are BIGINT microseconds since the epoch (UTC); JSON columns are TEXT. This file is a
frozen snapshot: later schema changes go into new revisions, never here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# INTEGER on SQLite so that the primary key is the rowid.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this


def _text(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _instance_fk(table: str) -> list[SchemaItem]:
    return [
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=f"fk_{table}_instance_id_instances",
            ondelete="CASCADE",
        ),
    ]


def _activity_indexes() -> list[tuple[str, list[str]]]:
    leading = [None, "instance_id", "actor_ref", "ip_key"]
    out = []
    for col in leading:
        cols = ([col] if col else []) + ["time", "id"]
        out.append(("ix_activities_" + "_".join(cols), cols))
    return out


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _text("name", False),
        _text("app", False),
        _text("config", False),
        _text("secrets_enc", False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), server_default="60", nullable=False),
        sa.Column("created_at", _MICROS(), nullable=False),
        _text("health"),
        sa.PrimaryKeyConstraint("id", name="pk_instances"),
        sa.UniqueConstraint("name", name="uq_instances_name"),
    )
    op.create_table(
        "cursors",
        *_instance_fk("cursors"),
        _text("feed", False),
        _text("cursor", False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "feed", name="pk_cursors"),
    )
    op.create_table(
        "activities",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        *_instance_fk("activities"),
        _text("source_event_id", False),
        sa.Column("time", _MICROS(), nullable=False),
        _text("app", False),
        _text("activity_type", False),
        _text("category", False),
        _text("action", False),
        _text("outcome", False),
        _text("outcome_detail"),
        _text("outcome_reason"),
        _text("actor_id"),
        _text("actor_name"),
        _text("actor_email"),
        _text("actor_type"),
        sa.Column("actor_ref", sa.BigInteger(), nullable=True),
        _text("targets", False),
        _text("src_ip"),
        _text("ip_key"),
        _text("country"),
        _text("country_code"),
        _text("region"),
        _text("city"),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("asn", sa.BigInteger(), nullable=True),
        _text("isp"),
        _text("user_agent"),
        _text("device"),
        _text("severity"),
        _text("description", False),
        _text("details", False),
        _text("raw", False),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
        sa.UniqueConstraint(
            "instance_id", "source_event_id", name="uq_activities_instance_id_source_event_id"
        ),
    )
    for name, cols in _activity_indexes():
        op.create_index(name, "activities", cols)
    op.create_table(
        "actors",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        *_instance_fk("actors"),
        _text("key", False),
        _text("actor_id_lc"),
        _text("email"),
        _text("name_lc"),
        sa.PrimaryKeyConstraint("id", name="pk_actors"),
        sa.UniqueConstraint("instance_id", "key", name="uq_actors_instance_id_key"),
    )
    for col in ("actor_id_lc", "email", "name_lc"):
        op.create_index(f"ix_actors_{col}", "actors", [col])
    op.create_table(
        "rejected_records",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        *_instance_fk("rejected_records"),
        _text("feed", False),
        _text("raw", False),
        _text("error", False),
        sa.Column("received_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_records"),
    )
    op.create_index(
        "ix_rejected_records_instance_id_received_at",
        "rejected_records",
        ["instance_id", "received_at"],
    )
    op.create_table(
        "accounts",
        *_instance_fk("accounts"),
        _text("id", False),
        _text("email"),
        _text("name"),
        _text("status", False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        _text("admin_roles", False),
        sa.Column("last_login", _MICROS(), nullable=True),
        sa.Column("created", _MICROS(), nullable=True),
        _text("raw", False),
        sa.PrimaryKeyConstraint("instance_id", "id", name="pk_accounts"),
    )
    op.create_table(
        "groups",
        *_instance_fk("groups"),
        _text("id", False),
        _text("name", False),
        _text("type"),
        _text("description"),
        _text("raw", False),
        sa.PrimaryKeyConstraint("instance_id", "id", name="pk_groups"),
    )
    op.create_table(
        "group_members",
        *_instance_fk("group_members"),
        _text("group_id", False),
        _text("account_id", False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "group_id", "account_id", name="pk_group_members"),
    )
    op.create_index(
        "ix_group_members_instance_id_account_id", "group_members", ["instance_id", "account_id"]
    )


def downgrade() -> None:
    for table in (
        "group_members",
        "groups",
        "accounts",
        "rejected_records",
        "actors",
        "activities",
        "cursors",
        "instances",
    ):
        op.drop_table(table)
