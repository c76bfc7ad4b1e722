"""The user's tagged IP ranges in the store, and the version of their set.

Contract:
    * A stored range is one (source, network, tag) row; ``source`` says how it came
      (:data:`SOURCE_CLI`, ``api:<user>``, ``file:<name>``, ``demo``). Ranges may overlap
      and the same network may carry several tags; an address carries the tags of every
      range that holds it (:class:`~opencasb.enrich.iptags.IpTagMatcher`).
    * Every transaction that changes the rows raises the tag-set version by one in the same
      transaction (:func:`tag_set_version`); one that changes nothing leaves it alone. A
      process holding the ranges in memory reloads them when the number differs, and stored
      enrichment computed under an older number is stale (searches and the activity
      record never read stored tags: they match these rows live, see :func:`tags_of`,
      :mod:`opencasb.filters.sql` and :mod:`opencasb.store.iptag_spans`).
    * The same transaction rewrites the merged spans of every tag it changed
      (:func:`~opencasb.store.iptag_spans.respan`), which searches by tag read.
    * :func:`import_ranges` makes a source's rows exactly the given ranges, atomically: a
      file imported again replaces what it brought last time, rows it still lists keep their
      id and creation time, and a failure changes nothing.

The bounds are stored as 16-byte keys in the form of ``activities.ip_key`` (IPv4 mapped to
``::ffff:a.b.c.d``), so SQL can join ranges to activities on either engine; a key tells the
family apart, as no IPv6 range starts inside ``::ffff:0:0/96`` (:func:`~opencasb.enrich.
iptags.parse_ip_range` makes those IPv4).
"""

from __future__ import annotations

import csv
import io
import re
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    LargeBinary,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from opencasb.enrich.ipnum import parse_ip
from opencasb.enrich.iptags import IpRange, normalize_tag, parse_ip_range
from opencasb.errors import ConfigError, NotFound
from opencasb.store._db import Database
from opencasb.store.export import _cell as csv_cell
from opencasb.store.iptag_spans import SpanIndex, load_spans, respan, tags_holding
from opencasb.store.schema import ip_tag_version, ip_tags

__all__ = [
    "SOURCE_CLI",
    "SOURCE_DEMO",
    "ImportResult",
    "IpTagRecord",
    "IpTagStore",
    "add_range",
    "all_ranges",
    "export_csv",
    "file_source",
    "get_range",
    "holds",
    "import_ranges",
    "iptag_json",
    "list_ranges",
    "lookup",
    "remove_ranges",
    "tag_counts",
    "tag_set_version",
    "tags_of",
]

SOURCE_CLI = "cli"
SOURCE_DEMO = "demo"
_V4_PREFIX = bytes(10) + b"\xff\xff"
_V4_LOW = _V4_PREFIX + bytes(4)
_V4_HIGH = _V4_PREFIX + b"\xff" * 4


def file_source(name: str) -> str:
    """The source of the ranges imported from a file called ``name`` (its base name)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base:
        raise ConfigError("the imported file needs a name", fix="give the file's name")
    return f"file:{base}"


@dataclass(frozen=True, slots=True)
class IpTagRecord:
    """One stored range: :attr:`range` is the matcher's value (its ``source`` is the row's)."""

    id: int
    range: IpRange
    source: str
    created_at: datetime
    created_by: str

    @property
    def network(self) -> str:
        return self.range.network

    @property
    def tag(self) -> str:
        return self.range.tag

    @property
    def name(self) -> str:
        return self.range.name


def iptag_json(r: IpTagRecord) -> dict[str, Any]:
    """A stored range as the API answers it and ``opencasb iptags list --format json`` writes it:
    the one JSON shape of an IP tag range. ``created_at`` stays a datetime, for the writer
    to put as ISO 8601 UTC (both write it with orjson's ``Z``)."""
    return {
        "id": r.id,
        "network": r.network,
        "tag": r.tag,
        "name": r.name,
        "source": r.source,
        "created_at": r.created_at,
        "created_by": r.created_by,
    }


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed: rows added, removed and left as they were; ``version`` is
    the tag-set version after it."""

    added: int
    removed: int
    unchanged: int
    version: int


def _keys(r: IpRange) -> tuple[bytes, bytes]:
    if r.version == 4:
        return _V4_PREFIX + r.first.to_bytes(4, "big"), _V4_PREFIX + r.last.to_bytes(4, "big")
    return r.first.to_bytes(16, "big"), r.last.to_bytes(16, "big")


def _range(network: str, first_key: Any, last_key: Any, tag: str, name: Any, src: str) -> IpRange:
    first, last = bytes(first_key), bytes(last_key)
    if first[:12] == _V4_PREFIX:
        version, lo, hi = 4, int.from_bytes(first[12:], "big"), int.from_bytes(last[12:], "big")
    else:
        version, lo, hi = 6, int.from_bytes(first, "big"), int.from_bytes(last, "big")
    return IpRange(network, tag, version, lo, hi, name or "", src)


def _record(row: Any) -> IpTagRecord:
    r = _range(row.network, row.first_key, row.last_key, row.tag, row.name, row.source)
    return IpTagRecord(int(row.id), r, row.source, row.created_at, row.created_by)


def _values(r: IpRange, source: str, by: str, now: datetime) -> dict[str, Any]:
    first, last = _keys(r)
    return {
        "network": r.network,
        "first_key": first,
        "last_key": last,
        "tag": r.tag,
        "name": r.name or None,
        "source": source,
        "created_at": now,
        "created_by": by,
    }


def _lock(conn: Connection) -> None:
    """Take the tag-set row's lock for the caller's write transaction (PostgreSQL; SQLite's
    writers are already one at a time): two imports of one file, or an add racing another,
    then run one after the other instead of failing on the unique key."""
    t = ip_tag_version
    conn.execute(select(t.c.version).where(t.c.id == 1).with_for_update())


def _bump(conn: Connection, now: datetime) -> int:
    """Raise the tag-set version (in the caller's transaction); returns the new number."""
    t = ip_tag_version
    done = conn.execute(
        update(t).where(t.c.id == 1).values(version=t.c.version + 1, updated_at=now)
    )
    if done.rowcount == 0:  # the row went missing (a hand-edited database): start it again
        conn.execute(insert(t).values(id=1, version=1, updated_at=now))
    return int(conn.execute(select(t.c.version).where(t.c.id == 1)).scalar_one())


def holds(key: bytes | ColumnElement[bytes]) -> ColumnElement[bool]:
    """SQL: the ``ip_tags`` row's range holds the address ``key`` (16 bytes, or a column
    such as ``activities.ip_key``), as the matcher says: an IPv6 range (``::/0``) does not
    hold the IPv4 addresses mapped into its span."""
    t = ip_tags.c
    k = literal(key, LargeBinary()) if isinstance(key, bytes) else key
    return and_(
        t.first_key <= k,
        t.last_key >= k,
        or_(k < _V4_LOW, k > _V4_HIGH, t.first_key >= _V4_LOW),
    )


def tag_set_version(db: Database) -> int:
    """The current tag-set version (0 before the first change)."""
    with db.read() as conn:
        value = conn.execute(select(ip_tag_version.c.version).where(ip_tag_version.c.id == 1))
        return int(value.scalar() or 0)


def _check_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    try:
        return normalize_tag(tag)
    except ValueError as exc:
        raise ConfigError(str(exc), fix="give a valid tag", code="bad_ip_tag") from None


def list_ranges(
    db: Database, *, tag: str | None = None, after: int | None = None, limit: int | None = None
) -> list[IpTagRecord]:
    """Stored ranges in id order (the order they were added), of one tag or all; ``after``
    = the last id seen, to go on after it; ``limit`` None: all.

    Raises:
        ConfigError: ``tag`` is not a valid tag.
    """
    q = select(ip_tags).order_by(ip_tags.c.id)
    if (canonical := _check_tag(tag)) is not None:
        q = q.where(ip_tags.c.tag == canonical)
    if after is not None:
        q = q.where(ip_tags.c.id > after)
    if limit is not None:
        q = q.limit(limit)
    with db.read() as conn:
        return [_record(r) for r in conn.execute(q)]


def tag_counts(db: Database) -> dict[str, int]:
    """The number of stored ranges of each tag, by tag name."""
    q = select(ip_tags.c.tag, func.count()).group_by(ip_tags.c.tag).order_by(ip_tags.c.tag)
    with db.read() as conn:
        return {str(tag): int(n) for tag, n in conn.execute(q)}


def get_range(db: Database, range_id: int) -> IpTagRecord:
    """The stored range with id ``range_id``. Raises NotFound."""
    with db.read() as conn:
        row = conn.execute(select(ip_tags).where(ip_tags.c.id == range_id)).first()
    if row is None:
        raise NotFound(
            f"no stored range {range_id}",
            fix="'opencasb iptags list' shows the stored ranges with their ids",
            code="ip_range_not_found",
        )
    return _record(row)


def all_ranges(db: Database) -> tuple[list[IpRange], int]:
    """Every stored range (for the enricher) and the tag-set version they are, read in one
    transaction so that the two agree."""
    with db.read() as conn, conn.begin():
        v = conn.execute(select(ip_tag_version.c.version).where(ip_tag_version.c.id == 1))
        version = int(v.scalar() or 0)
        t = ip_tags.c
        # plain tuples of the columns a range needs: this runs on every reload of the
        # enricher, over lists of a hundred thousand ranges
        cols = (t.network, t.first_key, t.last_key, t.tag, t.name, t.source)
        rows = conn.execute(select(*cols).order_by(t.id))
        return [_range(*row) for row in rows], version


def lookup(db: Database, address: str) -> list[IpTagRecord]:
    """The stored ranges that hold ``address``, in id order.

    Raises:
        ConfigError: ``address`` is not an IP address.
    """
    ip = parse_ip(address)
    if ip is None:
        raise ConfigError(
            f"{address.strip()!r} is not an IP address",
            fix="give an address such as 203.0.113.7 or 2001:db8::1",
            code="bad_ip",
        )
    width = 4 if ip[0] == 4 else 16
    key = (_V4_PREFIX if ip[0] == 4 else b"") + ip[1].to_bytes(width, "big")
    q = select(ip_tags).where(holds(key)).order_by(ip_tags.c.id)
    with db.read() as conn:
        return [_record(r) for r in conn.execute(q)]


def tags_of(db: Database, address: str | None) -> tuple[str, ...]:
    """The tags the stored ranges give ``address`` now (sorted, distinct; () for None or
    text that is not an address): what searches and the activity record show, whatever
    the activity's stored enrichment says."""
    key = _address_key(address)
    if key is None:
        return ()
    with db.read() as conn:
        return tuple(tags_holding(conn, key))  # the merged spans: one seek per tag


def _address_key(address: str | None) -> bytes | None:
    ip = parse_ip(address) if address else None
    if ip is None:
        return None
    return (_V4_PREFIX if ip[0] == 4 else b"") + ip[1].to_bytes(4 if ip[0] == 4 else 16, "big")


MAX_NAME = 200
"""Characters of a range's name (a label, not a document)."""


def _parse(network: str, tag: str, name: str) -> IpRange:
    if len(name) > MAX_NAME or any(ch < " " or ch == "\x7f" for ch in name):
        raise ConfigError(
            "a range's name is one line of at most 200 characters",
            fix="shorten the name and leave out line breaks and control characters",
            code="bad_ip_range_name",
        )
    try:
        return parse_ip_range(network, tag, name=name)
    except ValueError as exc:
        raise ConfigError(
            str(exc), fix="correct the network or the tag", code="bad_ip_range"
        ) from None


def add_range(
    db: Database, network: str, tag: str, *, name: str = "", source: str, created_by: str
) -> IpTagRecord:
    """Store one range tagged ``tag``.

    Raises:
        ConfigError: the network or the tag is not valid, or the network already carries
            the tag (from any source: the message names the row).
    """
    r = _parse(network, tag, name)
    now = db.clock.now()
    with db.write() as conn:
        _lock(conn)
        have = conn.execute(
            select(ip_tags.c.id, ip_tags.c.source)
            .where(ip_tags.c.network == r.network, ip_tags.c.tag == r.tag)
            .limit(1)
        ).first()
        if have is not None:
            raise ConfigError(
                f"{r.network} is already tagged {r.tag} (id {have.id}, from {have.source})",
                fix="remove it first to change its name, or give another tag",
                code="ip_range_exists",
            )
        row_id = conn.execute(
            insert(ip_tags).values(**_values(r, source, created_by, now)).returning(ip_tags.c.id)
        ).scalar_one()
        respan(conn, [r.tag])
        _bump(conn, now)
        row = conn.execute(select(ip_tags).where(ip_tags.c.id == row_id)).one()
    return _record(row)


def remove_ranges(db: Database, spec: str | int, *, tag: str | None = None) -> list[IpTagRecord]:
    """Remove the range with id ``spec`` (an int, or a string of digits), or every range of
    the network ``spec`` (any spelling of it: ``192.0.2.7`` is ``192.0.2.7/32``), of every
    tag or only ``tag``, from every source. Returns what was removed.

    Raises:
        ConfigError: ``spec`` is neither an id nor a network, or ``tag`` is not a tag.
        NotFound: nothing matches.
    """
    canonical = _check_tag(tag)
    spec = spec if isinstance(spec, int) else spec.strip()
    if isinstance(spec, int) or spec.isdigit():
        cond = ip_tags.c.id == int(spec)
    else:
        cond = ip_tags.c.network == _parse(spec, canonical or "corporate", "").network
    if canonical is not None:
        cond = cond & (ip_tags.c.tag == canonical)
    now = db.clock.now()
    with db.write() as conn:
        _lock(conn)
        found = conn.execute(select(ip_tags).where(cond).order_by(ip_tags.c.id))
        rows = [_record(r) for r in found]
        if rows:
            conn.execute(delete(ip_tags).where(ip_tags.c.id.in_([r.id for r in rows])))
            respan(conn, {r.tag for r in rows})
            _bump(conn, now)
    if not rows:
        which = f" tagged {canonical}" if canonical else ""
        raise NotFound(
            f"no stored range {spec!r}{which}",
            fix="'opencasb iptags list' shows the stored ranges with their ids",
            code="ip_range_not_found",
        )
    return rows


def import_ranges(
    db: Database,
    source: str,
    ranges: Sequence[IpRange],
    *,
    created_by: str,
    replace_tags: Iterable[str] = (),
) -> ImportResult:
    """Make ``source``'s stored ranges exactly ``ranges`` (duplicates of (network, tag)
    dropped), in ONE transaction. With ``replace_tags``, every other source's ranges of
    those tags are removed too (the import becomes the whole list for them).

    Raises:
        ConfigError: ``source`` is empty, or a tag in ``replace_tags`` is not valid.
    """
    if not source.strip():
        raise ConfigError("an import needs a source name", fix="name the file")
    wanted: dict[tuple[str, str], IpRange] = {}
    for r in ranges:
        wanted.setdefault((r.network, r.tag), r)
    tags = {t for t in (_check_tag(t) for t in replace_tags) if t is not None}
    now = db.clock.now()
    with db.write() as conn:
        _lock(conn)
        cond = ip_tags.c.source == source
        if tags:
            cond = or_(cond, ip_tags.c.tag.in_(sorted(tags)))
        stale: list[int] = []
        touched: set[str] = set()  # tags whose spans change
        renamed: list[tuple[int, str]] = []
        kept: set[tuple[str, str]] = set()
        for row in conn.execute(select(ip_tags).where(cond)):
            key = (row.network, row.tag)
            new = wanted.get(key) if row.source == source else None
            if new is None:
                stale.append(int(row.id))
                touched.add(row.tag)
                continue
            kept.add(key)
            if (row.name or "") != new.name:
                renamed.append((int(row.id), new.name))
        fresh = [_values(r, source, created_by, now) for k, r in wanted.items() if k not in kept]
        for i in range(0, len(stale), 500):
            conn.execute(delete(ip_tags).where(ip_tags.c.id.in_(stale[i : i + 500])))
        for row_id, name in renamed:
            conn.execute(update(ip_tags).where(ip_tags.c.id == row_id).values(name=name or None))
        for i in range(0, len(fresh), 1000):
            conn.execute(insert(ip_tags), fresh[i : i + 1000])
        respan(conn, touched | {v["tag"] for v in fresh})
        changed = bool(stale or renamed or fresh)
        version = _bump(conn, now) if changed else _current(conn)
    return ImportResult(len(fresh), len(stale), len(kept), version)


def _current(conn: Connection) -> int:
    value = conn.execute(select(ip_tag_version.c.version).where(ip_tag_version.c.id == 1))
    return int(value.scalar() or 0)


def export_csv(db: Database, *, tag: str | None = None) -> str:
    """The stored ranges (of one tag or all) as a CSV file that :func:`~opencasb.enrich.
    iptags.load_ip_ranges` reads back: a ``network,tag,name`` header, then one range a
    line, ordered by tag, family and address. A name a spreadsheet would run as a formula
    gets a leading apostrophe, as in the activity export (:mod:`opencasb.store.export`)."""
    records = list_ranges(db, tag=tag)
    records.sort(key=lambda x: (x.tag, x.range.version, x.range.first, x.range.last, x.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["network", "tag", "name"])
    seen: set[tuple[str, str]] = set()
    for rec in records:
        if (rec.network, rec.tag) in seen:  # the same range from two sources: once
            continue
        seen.add((rec.network, rec.tag))
        # a name is the user's text: a spreadsheet must not run it as a formula
        writer.writerow([rec.network, rec.tag, csv_cell(_no_comment(rec.name))])
    return out.getvalue()


def _no_comment(name: str) -> str:
    """The name without what the file reader would take for a comment (a ``#`` after a
    blank), which it could not read back: ``Acme #1`` is exported as ``Acme 1``."""
    return re.sub(r"(\s)#+", r"\1", name) if "#" in name else name


# The spans in memory per database (its engine: a store makes a new IpTagStore per use).
_SPANS: weakref.WeakKeyDictionary[Engine, SpanIndex] = weakref.WeakKeyDictionary()


class IpTagStore:
    """The ranges bound to one database: ``store.ip_tags`` (see the module functions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def version(self) -> int:
        return tag_set_version(self._db)

    def records(
        self, *, tag: str | None = None, after: int | None = None, limit: int | None = None
    ) -> list[IpTagRecord]:
        return list_ranges(self._db, tag=tag, after=after, limit=limit)

    def counts(self) -> dict[str, int]:
        return tag_counts(self._db)

    def get(self, range_id: int) -> IpTagRecord:
        return get_range(self._db, range_id)

    def ranges(self) -> tuple[list[IpRange], int]:
        return all_ranges(self._db)

    def lookup(self, address: str) -> list[IpTagRecord]:
        return lookup(self._db, address)

    def tags_of(self, address: str | None) -> tuple[str, ...]:
        """As :func:`tags_of`, from the spans held in memory while the tag-set version
        stays (one read of the number per call: a page shows 50 addresses)."""
        key = _address_key(address)
        if key is None:
            return ()
        with self._db.read() as conn, conn.begin():
            version = _current(conn)
            index = _SPANS.get(self._db.engine)
            if index is None or index.version != version:
                index = _SPANS[self._db.engine] = load_spans(conn, version)
        return index.tags(key)

    def add(
        self, network: str, tag: str, *, name: str = "", source: str, created_by: str
    ) -> IpTagRecord:
        return add_range(self._db, network, tag, name=name, source=source, created_by=created_by)

    def remove(self, spec: str | int, *, tag: str | None = None) -> list[IpTagRecord]:
        return remove_ranges(self._db, spec, tag=tag)

    def import_ranges(
        self,
        source: str,
        ranges: Sequence[IpRange],
        *,
        created_by: str,
        replace_tags: Iterable[str] = (),
    ) -> ImportResult:
        return import_ranges(
            self._db, source, ranges, created_by=created_by, replace_tags=replace_tags
        )

    def export_csv(self, *, tag: str | None = None) -> str:
        return export_csv(self._db, tag=tag)
