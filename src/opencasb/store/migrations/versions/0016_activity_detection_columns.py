"""Columns the detection stage decides on without decoding an activity's body.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

``activities`` gains ``category``, ``user_key`` (the actor's
:attr:`~opencasb.model.activity.Actor.user_key`) and ``key_is_email``. Most activities are
neither a candidate of any policy nor acted on by an anomaly detector beyond a gate on their
user: with these, the stage skips decompressing and parsing their bodies. Rows stored before
this migration keep them NULL and are read from the body, as before; nothing needs a rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without a default: instant on both engines, whatever the row count.
    op.add_column("activities", sa.Column("category", sa.Text(), nullable=True))
    op.add_column("activities", sa.Column("user_key", sa.Text(), nullable=True))
    op.add_column("activities", sa.Column("key_is_email", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("key_is_email")
        batch.drop_column("user_key")
        batch.drop_column("category")
