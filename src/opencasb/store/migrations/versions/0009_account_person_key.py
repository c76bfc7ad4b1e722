"""Accounts carry their person key, so people across apps are keyset-paged in SQL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``accounts.person_key`` is the account's e-mail address case-folded (Python's
``str.casefold``, the same on both engines), or ``<instance name>:<account id>`` for an
account without one (:func:`opencasb.store.inventory.person_key`). The accounts of one
person share it; the index serves the portal's and the API's people pages. Existing rows are
filled in here from their instance's name.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def _key(instance: str, account_id: str, email: str | None) -> str:
    # A copy of opencasb.store.inventory.person_key: a migration must not change when the
    # code does.
    return email.casefold() if email else f"{instance}:{account_id}"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("person_key", sa.Text(), nullable=True))
    conn = op.get_bind()
    accounts = sa.table(
        "accounts",
        sa.column("instance_id", sa.Integer()),
        sa.column("id", sa.Text()),
        sa.column("email", sa.Text()),
        sa.column("person_key", sa.Text()),
    )
    instances = sa.table("instances", sa.column("id", sa.Integer()), sa.column("name", sa.Text()))
    rows = conn.execute(
        sa.select(accounts.c.instance_id, accounts.c.id, accounts.c.email, instances.c.name)
        .join(instances, instances.c.id == accounts.c.instance_id)
        .order_by(accounts.c.instance_id, accounts.c.id)
    ).all()
    stmt = (
        sa.update(accounts)
        .where(accounts.c.instance_id == sa.bindparam("b_instance"))
        .where(accounts.c.id == sa.bindparam("b_id"))
        .values(person_key=sa.bindparam("b_key"))
    )
    for start in range(0, len(rows), _BATCH):
        conn.execute(
            stmt,
            [
                {"b_instance": r.instance_id, "b_id": r.id, "b_key": _key(r.name, r.id, r.email)}
                for r in rows[start : start + _BATCH]
            ],
        )
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("person_key", existing_type=sa.Text(), nullable=False)
        batch.create_index("ix_accounts_person_key", ["person_key"])


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_person_key")
        batch.drop_column("person_key")
