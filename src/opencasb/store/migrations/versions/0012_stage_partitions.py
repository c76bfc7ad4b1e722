"""A stage's state per key: the anomaly detections' baseline of each user in its own row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``stage_partitions`` holds the parts of a stage's state that are keyed by the partition key
(the anomaly detections' per-user baselines), so that a pass writes only the users it
changed instead of the whole state as one text every pass. Nothing is moved here: a stage
row written before this revision (its users inside its state) is read as it is, and its
users move to this table at the stage's next commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stage_partitions",
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "key"),
    )


def downgrade() -> None:
    # Put each stage's users back inside its row (``state.anomaly.users``, where the code
    # before this revision reads them) before the table goes: a downgrade loses no baseline.
    conn = op.get_bind()
    parts = sa.table("stage_partitions", sa.column("stage"), sa.column("key"), sa.column("state"))
    rows = sa.table("stage_state", sa.column("stage"), sa.column("state"))
    users: dict[str, dict[str, object]] = {}
    for stage, key, state in conn.execute(sa.select(parts.c.stage, parts.c.key, parts.c.state)):
        users.setdefault(stage, {})[key] = json.loads(state)
    for stage, found in users.items():
        text = conn.execute(sa.select(rows.c.state).where(rows.c.stage == stage)).scalar()
        if text is None:
            continue
        data = json.loads(text)
        data.pop("partitioned", None)
        data.setdefault("anomaly", {})["users"] = found
        conn.execute(
            sa.update(rows)
            .where(rows.c.stage == stage)
            .values(state=json.dumps(data, sort_keys=True, separators=(",", ":")))
        )
    op.drop_table("stage_partitions")
