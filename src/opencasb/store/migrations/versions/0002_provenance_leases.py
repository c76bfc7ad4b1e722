"""Provenance of activities, one quarantine row per record, sync leases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

* ``activities.origin``: "api:<feed>" or "import:<file name>"; NULL for rows stored before
  (their origin is unknown).
* ``rejected_records.content_hash``: sha256 of ``raw``, unique per instance and feed, so
  re-importing a file does not quarantine its bad records twice. Existing rows are hashed
  here and repeated ones dropped (the oldest of each is kept).
* ``leases``: which process is syncing an instance (see opencasb.store.leases).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MICROS = sa.BigInteger  # opencasb.store.schema.UtcMicros stores this


def upgrade() -> None:
    op.add_column("activities", sa.Column("origin", sa.Text(), nullable=True))
    op.add_column(
        "rejected_records",
        sa.Column("content_hash", sa.Text(), server_default="", nullable=False),
    )
    _hash_rejected()
    op.create_index(
        "ix_rejected_records_instance_id_feed_content_hash",
        "rejected_records",
        ["instance_id", "feed", "content_hash"],
        unique=True,
    )
    op.create_table(
        "leases",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired", _MICROS(), nullable=False),
        sa.Column("expires", _MICROS(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name="fk_leases_instance_id_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name="pk_leases"),
    )


def _hash_rejected() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, instance_id, feed, raw FROM rejected_records ORDER BY id")
    ).all()
    seen: set[tuple[int, str, str]] = set()
    drop: list[int] = []
    hashes: list[dict[str, object]] = []
    for row_id, instance_id, feed, raw in rows:
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
        key = (instance_id, feed, digest)
        if key in seen:
            drop.append(row_id)
        else:
            seen.add(key)
            hashes.append({"id": row_id, "h": digest})
    if drop:
        conn.execute(
            sa.text("DELETE FROM rejected_records WHERE id = :id"), [{"id": i} for i in drop]
        )
    if hashes:
        update = sa.text("UPDATE rejected_records SET content_hash = :h WHERE id = :id")
        conn.execute(update, hashes)


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_rejected_records_instance_id_feed_content_hash", "rejected_records")
    with op.batch_alter_table("rejected_records") as batch:
        batch.drop_column("content_hash")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("origin")
