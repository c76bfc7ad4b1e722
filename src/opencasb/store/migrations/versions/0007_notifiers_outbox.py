"""Notifiers, the outbox of alert events and their deliveries (pending and dead letters).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

``alert_events`` is the outbox the alert writes append to (opened, extended, closed,
commented; a JSON snapshot of the alert); ``notifiers`` the configured receivers (settings,
encrypted secrets, the cursor over the outbox, a lease); ``deliveries`` one row per event
still to deliver to a notifier, or dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("alert", sa.Text(), nullable=False),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.UniqueConstraint("event_key", name="uq_alert_events_event_key"),
    )
    op.create_table(
        "notifiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("secrets_enc", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delivered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_success_at", _MICROS(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_holder", sa.Text(), nullable=True),
        sa.Column("lease_until", _MICROS(), nullable=True),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifiers"),
        sa.UniqueConstraint("name", name="uq_notifiers_name"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("notifier_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", _MICROS(), nullable=True),
        sa.Column("next_attempt_at", _MICROS(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notifier_id"],
            ["notifiers.id"],
            name="fk_deliveries_notifier_id_notifiers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name="fk_deliveries_event_id_alert_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("notifier_id", "event_id", name="uq_deliveries_notifier_id_event_id"),
    )
    op.create_index(
        "ix_deliveries_notifier_id_state_event_id",
        "deliveries",
        ["notifier_id", "state", "event_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_notifier_id_state_event_id", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("notifiers")
    op.drop_table("alert_events")
