"""Policies, the detection stage's cursor and state, alerts and their comments.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

``policies`` holds the user's activity policies (their YAML definition, enabled or disabled
with the reason); ``stage_state`` one row per stage after ingest (its cursor, the last
activity id it has seen, and its state as JSON); ``alerts`` one row per episode of a policy
(evidence activity ids as a JSON list); ``alert_comments`` what analysts wrote on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
    )
    op.create_table(
        "stage_state",
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("stage", name="pk_stage_state"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("tactic", sa.Text(), nullable=True),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("first_time", _MICROS(), nullable=False),
        sa.Column("last_time", _MICROS(), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_status_last_time", "alerts", ["status", "last_time"])
    op.create_table(
        "alert_comments",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name="fk_alert_comments_alert_id_alerts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_comments"),
    )
    op.create_index("ix_alert_comments_alert_id", "alert_comments", ["alert_id"])


def downgrade() -> None:
    op.drop_table("alert_comments")
    op.drop_index("ix_alerts_status_last_time", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("stage_state")
    op.drop_table("policies")
