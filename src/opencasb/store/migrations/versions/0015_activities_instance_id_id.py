"""Index ``activities (instance_id, id)``: the detection stage's read.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Each detection pass reads an instance's activities after its cursor in id order
(:func:`opencasb.store.detection.observed_after`). With only ``(instance_id, time, id)``,
SQLite read every index entry of the instance to find the new ones, then sorted them: a pass
cost grew with everything the instance ever stored, not with what was new.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_activities_instance_id_id", "activities", ["instance_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_activities_instance_id_id", table_name="activities")
