"""Content blobs of the Management Activity API: records grouped by content type and the time
they were published, listed by that time, fetched by id.

A blob's ``contentCreated`` is its publication time, not its events' time (research §2.6): a
listing only returns blobs with ``contentCreated <= now`` and inside the query window, ordered
by ``(contentCreated, sequence)``. That order never changes under a reader — new blobs are only
ever published at or after "now" — so a page token naming the next blob's sort key makes
``NextPageUri`` paging return every blob exactly once. Blobs expire 7 days after creation.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from opencasb.clock import utc

__all__ = [
    "CONTENT_TYPES",
    "RETENTION",
    "Blob",
    "BlobStore",
    "content_type_of",
    "format_page_token",
    "parse_page_token",
]

CONTENT_TYPES = (
    "Audit.AzureActiveDirectory",
    "Audit.Exchange",
    "Audit.SharePoint",
    "Audit.General",
    "DLP.All",
)
RETENTION = timedelta(days=7)
_DLP_RECORD_TYPES = frozenset({11, 13, 33})  # ComplianceDLPSharePoint/Exchange/Classification
_WORKLOAD_TYPES = {
    "AzureActiveDirectory": "Audit.AzureActiveDirectory",
    "Exchange": "Audit.Exchange",
    "SharePoint": "Audit.SharePoint",
    "OneDrive": "Audit.SharePoint",
}
_TOKEN = re.compile(r"^(\d{17})R(\d{12})$")
_MAX_RECORDS_PER_BLOB = 1000


def content_type_of(record: dict[str, Any]) -> str:
    """The content type a record is published under (DLP first, then by workload)."""
    try:
        record_type = int(record.get("RecordType", -1))  # sometimes a string
    except (TypeError, ValueError):
        record_type = -1
    if record_type in _DLP_RECORD_TYPES:
        return "DLP.All"
    return _WORKLOAD_TYPES.get(str(record.get("Workload")), "Audit.General")


@dataclass(frozen=True, slots=True)
class Blob:
    """One published blob; ``records`` are the records' JSON, in the order served."""

    content_type: str
    content_id: str
    created: datetime
    seq: int
    records: tuple[bytes, ...]

    @property
    def expiration(self) -> datetime:
        return self.created + RETENTION

    def key(self) -> tuple[datetime, int]:
        return (self.created, self.seq)

    def body(self) -> bytes:
        return b"[" + b",".join(self.records) + b"]"


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%d%H%M%S") + f"{dt.microsecond // 1000:03d}"


def format_page_token(key: tuple[datetime, int]) -> str:
    """The opaque ``nextPage`` value for the blob sort key ``key``."""
    return f"{_stamp(key[0])}R{key[1]:012d}"


def parse_page_token(token: str) -> tuple[datetime, int] | None:
    """The sort key in a ``nextPage`` value, or None when it is not one of ours."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    try:
        when = datetime.strptime(match.group(1)[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    ms = int(match.group(1)[14:])
    return utc(when) + timedelta(milliseconds=ms), int(match.group(2))


def _content_id(content_type: str, created: datetime, seq: int) -> str:
    # The newer documented shape: "<stamp>$<stamp>$audit_sharepoint$Audit_SharePoint".
    stamp = f"{_stamp(created)}{seq:06d}"
    kind = content_type.replace(".", "_")
    return f"{stamp}${stamp}${kind.lower()}${kind}"


def valid_content_id(content_id: str) -> bool:
    """True when ``content_id`` has the shape of an id this emulator hands out."""
    parts = content_id.split("$")
    if len(parts) != 4 or not parts[0].isdigit():
        return False
    return parts[3].replace("_", ".") in CONTENT_TYPES and parts[2] == parts[3].lower()


class BlobStore:
    """All blobs, per content type in ``(created, seq)`` order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._by_type: dict[str, list[Blob]] = {ct: [] for ct in CONTENT_TYPES}
        self._keys: dict[str, list[tuple[datetime, int]]] = {ct: [] for ct in CONTENT_TYPES}
        self._by_id: dict[str, Blob] = {}

    def load(self, records: Iterable[tuple[dict[str, Any], datetime]]) -> None:
        """Publish seed records: one blob per (content type, publication time)."""
        groups: dict[tuple[str, datetime], list[bytes]] = {}
        for record, published in records:
            key = (content_type_of(record), utc(published))
            groups.setdefault(key, []).append(orjson.dumps(record))
        for (content_type, published), items in sorted(groups.items(), key=lambda kv: kv[0][1]):
            for i in range(0, len(items), _MAX_RECORDS_PER_BLOB):
                self.publish(content_type, published, items[i : i + _MAX_RECORDS_PER_BLOB])

    def publish(self, content_type: str, created: datetime, records: list[bytes]) -> Blob:
        """Store a new blob of serialized records, visible once the clock reaches ``created``."""
        created = utc(created).replace(microsecond=utc(created).microsecond // 1000 * 1000)
        with self._lock:
            self._seq += 1
            blob = Blob(
                content_type,
                _content_id(content_type, created, self._seq),
                created,
                self._seq,
                tuple(records),
            )
            index = bisect.bisect(self._keys[content_type], blob.key())
            self._keys[content_type].insert(index, blob.key())
            self._by_type[content_type].insert(index, blob)
            self._by_id[blob.content_id] = blob
        return blob

    def get(self, content_id: str) -> Blob | None:
        return self._by_id.get(content_id)

    def listing(
        self,
        content_type: str,
        *,
        start: datetime,
        end: datetime,
        now: datetime,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> tuple[list[Blob], tuple[datetime, int] | None]:
        """Visible blobs with ``start <= created < end`` from sort key ``after`` on: one page,
        and the key of the first blob of the next page (None on the last page)."""
        upper = min(end, now + timedelta(microseconds=1))  # created <= now and created < end
        with self._lock:
            keys = self._keys[content_type]
            blobs = self._by_type[content_type]
            lo = bisect.bisect_left(keys, max((start, 0), after or (start, 0)))
            hi = bisect.bisect_left(keys, (upper, 0))
            page = blobs[lo : min(hi, lo + limit)]
            nxt = keys[lo + limit] if lo + limit < hi else None
        return page, nxt

    def all_blobs(self) -> list[Blob]:
        """Every blob, visible or not, in publication order (for tests and tools)."""
        with self._lock:
            return sorted(self._by_id.values(), key=Blob.key)
