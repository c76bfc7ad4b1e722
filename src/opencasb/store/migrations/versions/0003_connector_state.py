"""A connector's own state in its own table, no longer in reserved cursor rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

The services of a suite seen so far and the inventory's last fetch were kept as cursor rows
named "services" and "inventory", which a feed of the same name would have overwritten.
They move to ``connector_state(instance_id, key, value, updated_at)``, keys unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this
_KEYS = "('services', 'inventory')"  # the reserved cursor rows of revision 0001


def upgrade() -> None:
    op.create_table(
        "connector_state",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name="fk_connector_state_instance_id_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "key", name="pk_connector_state"),
    )
    op.execute(
        "INSERT INTO connector_state (instance_id, key, value, updated_at) "
        f"SELECT instance_id, feed, cursor, updated_at FROM cursors WHERE feed IN {_KEYS}"
    )
    op.execute(f"DELETE FROM cursors WHERE feed IN {_KEYS}")


def downgrade() -> None:
    op.execute(
        "INSERT INTO cursors (instance_id, feed, cursor, updated_at) "
        f"SELECT instance_id, key, value, updated_at FROM connector_state WHERE key IN {_KEYS}"
    )
    op.drop_table("connector_state")
