"""Alert comments record who wrote them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

``alert_comments.author`` is the portal user or API token's user who commented or closed
with a comment, or the operating-system user of ``opencasb alerts`` (``cli`` when none is
known). Comments written before this revision have no author (NULL): the pages and the API
show them as unknown rather than guess from their text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_comments") as batch:
        batch.add_column(sa.Column("author", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_comments") as batch:
        batch.drop_column("author")
