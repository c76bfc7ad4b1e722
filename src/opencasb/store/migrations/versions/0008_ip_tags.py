"""The user's tagged IP ranges and the version of their set.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

``ip_tags`` holds one row per (source, network, tag) with the range's bounds as 16-byte keys
comparable with ``activities.ip_key``; ``ip_tag_version`` holds one row whose number every
change of ``ip_tags`` raises (see :mod:`opencasb.store.iptags`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this


def upgrade() -> None:
    op.create_table(
        "ip_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("network", sa.Text(), nullable=False),
        sa.Column("first_key", sa.LargeBinary(), nullable=False),
        sa.Column("last_key", sa.LargeBinary(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", _MICROS(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ip_tags"),
        sa.UniqueConstraint("source", "network", "tag", name="uq_ip_tags_source_network_tag"),
    )
    op.create_index("ix_ip_tags_tag_id", "ip_tags", ["tag", "id"])
    op.create_index("ix_ip_tags_first_key_last_key", "ip_tags", ["first_key", "last_key"])
    version = op.create_table(
        "ip_tag_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _MICROS(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ip_tag_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0, "updated_at": 0}])


def downgrade() -> None:
    op.drop_index("ix_ip_tags_first_key_last_key", table_name="ip_tags")
    op.drop_index("ix_ip_tags_tag_id", table_name="ip_tags")
    op.drop_table("ip_tag_version")
    op.drop_table("ip_tags")
