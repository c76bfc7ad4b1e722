"""Each tag's stored ranges merged into disjoint spans, for searches by IP tag.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``ip_tag_spans`` holds, per tag, the union of the tag's ``ip_tags`` ranges as disjoint
inclusive ``[lo, hi]`` 16-byte keys (an IPv6 range without the IPv4-mapped block), which
:mod:`opencasb.store.iptags` rewrites with every change of the ranges; a search probes it
with one index seek per address (:mod:`opencasb.store.iptag_spans`). The spans of the
ranges stored before this revision are computed here (the merge is repeated, not imported:
a revision must keep doing what it did when the code moves on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_V4_LOW = 0xFFFF << 32
_V4_HIGH = (0xFFFF << 32) | 0xFFFFFFFF


def _merge(bounds: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    parts: list[tuple[int, int]] = []
    for first, last in bounds:
        lo, hi = int.from_bytes(first, "big"), int.from_bytes(last, "big")
        if _V4_LOW <= lo <= _V4_HIGH or hi < _V4_LOW or lo > _V4_HIGH:
            parts.append((lo, hi))  # IPv4 (mapped), or IPv6 clear of the mapped block
            continue
        parts.append((lo, _V4_LOW - 1))
        if hi > _V4_HIGH:
            parts.append((_V4_HIGH + 1, hi))
    parts.sort()
    merged: list[list[int]] = []
    for lo, hi in parts:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo.to_bytes(16, "big"), hi.to_bytes(16, "big")) for lo, hi in merged]


def upgrade() -> None:
    spans = op.create_table(
        "ip_tag_spans",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("lo", sa.LargeBinary(), nullable=False),
        sa.Column("hi", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tag", "lo", name="pk_ip_tag_spans"),
        sqlite_with_rowid=False,
    )
    by_tag: dict[str, list[tuple[bytes, bytes]]] = {}
    rows = op.get_bind().execute(sa.text("SELECT tag, first_key, last_key FROM ip_tags"))
    for tag, first, last in rows:
        by_tag.setdefault(str(tag), []).append((bytes(first), bytes(last)))
    values = [
        {"tag": tag, "lo": lo, "hi": hi}
        for tag, bounds in sorted(by_tag.items())
        for lo, hi in _merge(bounds)
    ]
    for i in range(0, len(values), 1000):
        op.bulk_insert(spans, values[i : i + 1000])


def downgrade() -> None:
    op.drop_table("ip_tag_spans")
