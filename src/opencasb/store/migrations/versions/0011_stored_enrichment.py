"""Enrichment stored with each activity at ingest.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``enrichments`` interns each distinct enrichment (place, network, client; see
:mod:`opencasb.store.enrichment`); ``activities`` gains ``enrich_ref`` (its id),
``enrich_cc`` (the enriched country code, indexed with ``(time, id)`` for the country
filter) and ``ip_tags``. Rows stored before this migration have them NULL until
``opencasb enrich --all`` fills them; readers enrich such rows when they read them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "enrichments",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("coarse", sa.Boolean(), nullable=False),
        sa.Column("geo_source", sa.Text(), nullable=True),
        sa.Column("asn", sa.BigInteger(), nullable=True),
        sa.Column("isp", sa.Text(), nullable=True),
        sa.Column("ip_reserved", sa.Boolean(), nullable=False),
        sa.Column("browser", sa.Text(), nullable=True),
        sa.Column("browser_version", sa.Text(), nullable=True),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("os_version", sa.Text(), nullable=True),
        sa.Column("device_type", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_enrichments"),
        sa.UniqueConstraint("key", name="uq_enrichments_key"),
    )
    # Nullable columns without a default: instant on both engines, whatever the row count.
    op.add_column("activities", sa.Column("enrich_ref", sa.BigInteger(), nullable=True))
    op.add_column("activities", sa.Column("enrich_cc", sa.Text(), nullable=True))
    op.add_column("activities", sa.Column("ip_tags", sa.Text(), nullable=True))
    op.create_index("ix_activities_enrich_cc_time_id", "activities", ["enrich_cc", "time", "id"])


def downgrade() -> None:
    op.drop_index("ix_activities_enrich_cc_time_id", table_name="activities")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("ip_tags")
        batch.drop_column("enrich_cc")
        batch.drop_column("enrich_ref")
    op.drop_table("enrichments")
