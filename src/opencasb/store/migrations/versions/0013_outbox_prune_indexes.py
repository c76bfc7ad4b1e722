"""Indexes for pruning the outbox: ``alert_events.created_at`` and ``deliveries.event_id``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Pruning the outbox (:func:`opencasb.store.outbox.prune_events`, each notify pass when due)
deletes the events older than the kept window that no delivery refers to. Without these
indexes it read every event kept to find the few old ones, and every delivery for each of
them (and again for the cascade of each delete, on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alert_events_created_at", "alert_events", ["created_at"])
    op.create_index("ix_deliveries_event_id", "deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_event_id", table_name="deliveries")
    op.drop_index("ix_alert_events_created_at", table_name="alert_events")
