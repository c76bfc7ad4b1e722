"""Alerts carry their entity case-folded, so a person's alerts are found whatever the case.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

An alert's ``entity`` is the actor as the app wrote it (``Alice@Contoso.com`` from an Office
365 UserId, an Okta login with capitals) or the anomaly detections' case-folded user key,
while a person's accounts may spell the same e-mail or id in another case.
``alerts.entity_key`` is ``entity.casefold()`` (Python's, the same on both engines); a
person's alerts are those whose key is one of their accounts' e-mails or ids case-folded.
The index (key, last time, id) serves that list newest first, keyset-paged, reading only the
person's alerts. Existing rows are filled in here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("entity_key", sa.Text(), nullable=True))
    conn = op.get_bind()
    alerts = sa.table(
        "alerts",
        sa.column("id", sa.Text()),
        sa.column("entity", sa.Text()),
        sa.column("entity_key", sa.Text()),
    )
    rows = conn.execute(sa.select(alerts.c.id, alerts.c.entity).order_by(alerts.c.id)).all()
    stmt = (
        sa.update(alerts)
        .where(alerts.c.id == sa.bindparam("b_id"))
        .values(entity_key=sa.bindparam("b_key"))
    )
    for start in range(0, len(rows), _BATCH):
        conn.execute(
            stmt,
            [{"b_id": r.id, "b_key": r.entity.casefold()} for r in rows[start : start + _BATCH]],
        )
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("entity_key", existing_type=sa.Text(), nullable=False)
        batch.create_index("ix_alerts_entity_key_last_time_id", ["entity_key", "last_time", "id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_entity_key_last_time_id")
        batch.drop_column("entity_key")
