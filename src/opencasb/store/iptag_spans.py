"""Each tag's stored ranges merged into spans, and searches by tag that read them.

Contract:
    * ``ip_tag_spans`` holds, per tag, the union of the tag's ranges in ``ip_tags`` as
      disjoint, non-adjacent, inclusive ``[lo, hi]`` spans of 16-byte keys (the form of
      ``activities.ip_key``). An IPv6 range's span leaves out ``::ffff:0:0/96``: it does
      not hold the IPv4 addresses mapped there (the matcher's rule), so that
      ``lo <= key <= hi`` of some span of the tag is exactly "a range of the tag holds
      ``key``".
    * :func:`respan` rewrites the spans of the given tags from their ranges; every change
      of ``ip_tags`` (:mod:`opencasb.store.iptags`) calls it in its own transaction, so a
      search never sees ranges and spans disagree. Migration 0014 fills the table for the
      ranges stored before it.
    * :class:`LiveTags` is a filter's condition on the activity's CURRENT tags (built by
      :mod:`opencasb.filters.sql`). As it is, it renders a correct but per-row condition;
      :func:`resolve_live_tags`, run by the activity query on its connection just before
      the statement, replaces it with the fastest exact form for what is stored now.

Why spans: the ranges of a tag may overlap (two feeds, a /16 and a /24 in it), so "the
range with the greatest start not above the key" does not decide whether some range holds
the key; among disjoint spans it does, which makes a probe one index seek
(``lo <= key ORDER BY lo DESC LIMIT 1``, then ``hi >= key``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Connection,
    LargeBinary,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Grouping
from sqlalchemy.sql.visitors import InternalTraversal, replacement_traverse

from opencasb.store.schema import activities, ip_tag_spans, ip_tags

__all__ = [
    "DENSE_TAG_ROWS",
    "LiveTags",
    "SpanIndex",
    "load_spans",
    "merge_spans",
    "resolve_live_tags",
    "respan",
    "tags_holding",
]

_V4_LOW = (0xFFFF << 32) | 0
_V4_HIGH = (0xFFFF << 32) | 0xFFFFFFFF
_V4_PREFIX = bytes(10) + b"\xff\xff"
_EMPTY = literal(b"", LargeBinary())  # below every 16-byte key on both engines

# A tag holding at least this many stored activities is searched by reading the time index
# newest first with a span probe per row; fewer, from the spans through the IP index.
DENSE_TAG_ROWS = 5_000


def merge_spans(bounds: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The disjoint, non-adjacent spans covering the ranges ``(first_key, last_key)`` (as
    stored in ``ip_tags``), sorted; an IPv6 range loses the IPv4-mapped block."""
    parts: list[tuple[int, int]] = []
    for first, last in bounds:
        lo, hi = int.from_bytes(bytes(first), "big"), int.from_bytes(bytes(last), "big")
        if bytes(first)[:12] == _V4_PREFIX or hi < _V4_LOW or lo > _V4_HIGH:
            parts.append((lo, hi))
            continue
        # an IPv6 range (it never starts inside the block) over the IPv4-mapped block
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


def respan(conn: Connection, tags: Iterable[str]) -> None:
    """Rewrite the spans of ``tags`` from their stored ranges, in the caller's transaction."""
    s = ip_tag_spans
    for tag in sorted(set(tags)):
        rows = conn.execute(
            select(ip_tags.c.first_key, ip_tags.c.last_key).where(ip_tags.c.tag == tag)
        )
        spans = merge_spans((r.first_key, r.last_key) for r in rows)
        conn.execute(delete(s).where(s.c.tag == tag))
        values = [{"tag": tag, "lo": lo, "hi": hi} for lo, hi in spans]
        for i in range(0, len(values), 1000):
            conn.execute(insert(s), values[i : i + 1000])


class LiveTags(ColumnElement[bool]):
    """The activity's current tags satisfy a test: some stored tag ``t`` with ``test(t)``
    has a span holding ``activities.ip_key`` (never NULL: FALSE without an address).

    ``fallback`` is the condition in SQL for any moment (what it renders as when nobody
    resolved it); ``test`` is the same test on a tag's name in Python, which
    :func:`resolve_live_tags` applies to the tags stored when the query runs.
    """

    __visit_name__ = "opencasb_live_tags"
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("fallback", InternalTraversal.dp_clauseelement)]

    def __init__(self, fallback: ColumnElement[bool], test: Callable[[str], bool]) -> None:
        self.fallback = fallback
        self.test = test

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        return self  # it renders parenthesized; not the AsBoolean wrapper (``... = 1``)


@compiles(LiveTags)
def _live_tags(element: LiveTags, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.fallback, **kw)})"


def probe(tag: str) -> ColumnElement[bool]:
    """SQL: a span of ``tag`` holds the activity's address -- one index seek per row."""
    key = activities.c.ip_key
    s = ip_tag_spans.alias()
    hi = (
        select(s.c.hi)
        .where(s.c.tag == tag, s.c.lo <= key)
        .order_by(s.c.lo.desc())
        .limit(1)
        .scalar_subquery()
    )
    return and_(key.isnot(None), func.coalesce(hi, _EMPTY) >= key)


def fallback(tag_cond: Callable[[ColumnElement[str]], ColumnElement[bool]]) -> ColumnElement[bool]:
    """SQL: a span of a tag satisfying ``tag_cond`` holds the activity's address (a scan of
    those tags' spans below the address, per row)."""
    key = activities.c.ip_key
    s = ip_tag_spans.alias()
    return exists(select(s.c.tag).where(tag_cond(s.c.tag), s.c.lo <= key, s.c.hi >= key))


def _tag_names() -> CTE:
    """The stored tags, one index seek each (a loose scan of the (tag, lo) key: a feed of
    100,000 spans is not read to list its one tag)."""
    s = ip_tag_spans.c
    names = select(func.min(s.tag).label("tag")).cte("tag_names", recursive=True)
    following = select(func.min(s.tag)).where(s.tag > names.c.tag).scalar_subquery()
    return names.union_all(select(following).where(names.c.tag.isnot(None)))


def stored_tags(conn: Connection) -> list[str]:
    """Every tag with a stored range, sorted."""
    names = _tag_names()
    q = select(names.c.tag).where(names.c.tag.isnot(None))
    return sorted(str(t) for t in conn.execute(q).scalars())


def tags_holding(conn: Connection, key: bytes) -> list[str]:
    """The tags with a range holding the address ``key`` (16 bytes), sorted: one span
    probe per stored tag."""
    names = _tag_names()
    s = ip_tag_spans.alias()
    k = literal(key, LargeBinary())
    hi = (
        select(s.c.hi)
        .where(s.c.tag == names.c.tag, s.c.lo <= k)
        .order_by(s.c.lo.desc())
        .limit(1)
        .scalar_subquery()
    )
    q = select(names.c.tag).where(names.c.tag.isnot(None), func.coalesce(hi, _EMPTY) >= k)
    return sorted(str(t) for t in conn.execute(q).scalars())


@dataclass(frozen=True, slots=True)
class SpanIndex:
    """Every tag's spans in memory, as of the tag-set version ``version``: what a caller
    asking the tags of many addresses one at a time (a page of activities) keeps while the
    version stays."""

    version: int
    spans: dict[str, tuple[list[bytes], list[bytes]]]  # tag -> (los, his), sorted

    def tags(self, key: bytes) -> tuple[str, ...]:
        """The tags holding the address ``key`` (16 bytes), sorted."""
        out = []
        for tag, (los, his) in self.spans.items():
            i = bisect.bisect_right(los, key) - 1
            if i >= 0 and his[i] >= key:
                out.append(tag)
        return tuple(sorted(out))


def load_spans(conn: Connection, version: int) -> SpanIndex:
    """Every stored span; ``version`` = the tag-set version read BEFORE, on ``conn`` (a
    change committed in between is then newer than the number: reloaded once more, never
    kept as if it were older)."""
    s = ip_tag_spans.c
    spans: dict[str, tuple[list[bytes], list[bytes]]] = {}
    for tag, lo, hi in conn.execute(select(s.tag, s.lo, s.hi).order_by(s.tag, s.lo)):
        los, his = spans.setdefault(str(tag), ([], []))
        los.append(bytes(lo))
        his.append(bytes(hi))
    return SpanIndex(version, spans)


def _resolve(conn: Connection, cond: LiveTags, stored: list[str]) -> ColumnElement[bool]:
    tags = [t for t in stored if cond.test(t)]
    if not tags:
        return false()
    # The activities these tags hold, read from the spans through the IP index, stopping
    # at DENSE_TAG_ROWS: a sparse tag's matches are named by id (the query then reads those
    # rows and sorts them); a dense tag is probed per row while the time index is read
    # newest first, where a page fills after a few rows.
    a = activities.alias()
    s = ip_tag_spans
    held = (
        select(a.c.id)
        .select_from(s.join(a, and_(a.c.ip_key >= s.c.lo, a.c.ip_key <= s.c.hi)))
        .where(s.c.tag.in_(tags))
        .limit(DENSE_TAG_ROWS)
    )
    count = select(func.count()).select_from(held.subquery())
    if int(conn.execute(count).scalar_one()) >= DENSE_TAG_ROWS:  # repeats counted: no matter
        return or_(*(probe(t) for t in tags))
    ids = sorted({int(i) for i in conn.execute(held).scalars()})  # all of them
    return activities.c.id.in_(ids) if ids else false()


def resolve_live_tags(conn: Connection, where: ColumnElement[bool]) -> ColumnElement[bool]:
    """``where`` with each :class:`LiveTags` replaced by an exact condition chosen for the
    tags and activities stored now (read on ``conn``): FALSE for no tag, the ids of a
    sparse tag's activities, or a span probe per row for a dense one."""
    found = list(_live(where))
    if not found:
        return where
    stored = stored_tags(conn)

    def replace(element: Any, **kw: Any) -> Any:
        if isinstance(element, LiveTags):
            return Grouping(_resolve(conn, element, stored))
        return None

    opts: dict[str, Any] = {}
    return replacement_traverse(where, opts, replace)


def _live(element: Any) -> Iterator[LiveTags]:
    if isinstance(element, LiveTags):
        yield element
        return
    for child in element.get_children():
        yield from _live(child)
