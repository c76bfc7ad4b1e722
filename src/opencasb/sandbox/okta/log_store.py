"""The System Log's storage: serialized events in persistence order and in published order.

Each event is kept as its orjson bytes (all in one buffer) plus three integers (published
epoch-ms, persisted epoch-ms, sequence number). Two index pairs of ``array('q')`` hold the
persistence order (for polling) and the published order (for bounded queries); both are
sorted by ``(ms, seq)`` so a cursor ``(ms, seq)`` resumes exactly, without gap or duplicate.
A page without ``filter``/``q`` is served by joining bytes, without parsing anything.

Why one buffer and arrays: a 2,000-user, 60-day org is about a million events. Python dicts
would take gigabytes, and even a million small ``bytes`` objects fragment the heap badly
(orjson over-allocates and shrinks each result); one bytearray plus packed integers keeps
the cost near the JSON size (about 50 bytes of index per event).

Contract: sequence numbers are assigned in insertion order and only grow, so an appended
event sorts after every earlier event with the same millisecond. Callers must not append an
event whose persistence time is before "now" once clients may have polled past it (the
:class:`~opencasb.sandbox.okta.state.OktaState` clamps it), otherwise a cursor could skip it.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["LogStore", "Page"]

Matcher = Callable[[bytes], bool]


@dataclass(frozen=True, slots=True)
class Page:
    """One page: the events' bytes, the ``(ms, seq)`` key of the last one, and more-to-come."""

    blobs: list[bytes]
    last_key: tuple[int, int] | None
    has_more: bool


def _first_after(ms: array[int], seq: array[int], key: tuple[int, int]) -> int:
    """Index of the first entry strictly greater than ``key`` in an ``(ms, seq)`` order."""
    lo = bisect_left(ms, key[0])
    hi = bisect_right(ms, key[0], lo)
    return bisect_right(seq, key[1], lo, hi)


def _first_at_or_after(ms: array[int], seq: array[int], key: tuple[int, int]) -> int:
    """Index of the first entry greater than or equal to ``key``."""
    lo = bisect_left(ms, key[0])
    hi = bisect_right(ms, key[0], lo)
    return bisect_left(seq, key[1], lo, hi)


class LogStore:
    """Append-mostly event storage with exact cursors. Thread-safe (one lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # All events' JSON back to back; event ``seq`` spans offsets[seq]:offsets[seq + 1].
        self._data = bytearray()
        self._offsets: array[int] = array("q", [0])
        self._pub_by_seq: array[int] = array("q")
        self._persist_by_seq: array[int] = array("q")
        self._p_ms: array[int] = array("q")  # persistence order
        self._p_seq: array[int] = array("q")
        self._u_ms: array[int] = array("q")  # published order
        self._u_seq: array[int] = array("q")

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @property
    def data_bytes(self) -> int:
        """Total size of the stored JSON."""
        return len(self._data)

    def _blob(self, seq: int) -> bytes:
        return bytes(self._data[self._offsets[seq] : self._offsets[seq + 1]])

    def load(self, items: Iterable[tuple[bytes, int, int]]) -> None:
        """Bulk-load ``(blob, published_ms, persisted_ms)`` triples into an empty store.

        ``items`` is consumed once, lazily: each blob is copied into the shared buffer and
        dropped, so a generator of a million events never needs a million live objects.
        """
        with self._lock:
            if len(self):
                raise ValueError("load() needs an empty store; use append() afterwards")
            data, offsets = self._data, self._offsets
            pub, persist = self._pub_by_seq, self._persist_by_seq
            for blob, published_ms, persisted_ms in items:
                data += blob
                offsets.append(len(data))
                pub.append(published_ms)
                persist.append(persisted_ms)
            n = len(pub)
            # Stable sorts of range(n) keep ties in seq order, so both orders are (ms, seq).
            by_persist = sorted(range(n), key=persist.__getitem__)
            self._p_seq = array("q", by_persist)
            self._p_ms = array("q", (persist[s] for s in by_persist))
            del by_persist
            by_pub = sorted(range(n), key=pub.__getitem__)
            self._u_seq = array("q", by_pub)
            self._u_ms = array("q", (pub[s] for s in by_pub))

    def append(self, blob: bytes, published_ms: int, persisted_ms: int) -> int:
        """Store one event and return its sequence number."""
        with self._lock:
            seq = len(self)
            self._data += blob
            self._offsets.append(len(self._data))
            self._pub_by_seq.append(published_ms)
            self._persist_by_seq.append(persisted_ms)
            # seq is the largest so far, so it goes after every tie of the same ms.
            i = bisect_right(self._p_ms, persisted_ms)
            self._p_ms.insert(i, persisted_ms)
            self._p_seq.insert(i, seq)
            j = bisect_right(self._u_ms, published_ms)
            self._u_ms.insert(j, published_ms)
            self._u_seq.insert(j, seq)
            return seq

    def get(self, seq: int) -> bytes:
        """The stored bytes of event ``seq``."""
        with self._lock:
            return self._blob(seq)

    def iter_blobs(self) -> Iterator[bytes]:
        """Every stored event in persistence order, visible or not (for tests and exports)."""
        with self._lock:
            order = list(self._p_seq)
        for s in order:
            yield self.get(s)

    def timings(self) -> Iterator[tuple[int, int, bytes]]:
        """``(published_ms, persisted_ms, blob)`` of every stored event, in persistence
        order (for tests and benchmarks that check when events became visible)."""
        with self._lock:
            order = list(self._p_seq)
            pub, persist = self._pub_by_seq, self._persist_by_seq
            rows = [(pub[s], persist[s]) for s in order]
        for s, (published_ms, persisted_ms) in zip(order, rows, strict=True):
            yield published_ms, persisted_ms, self.get(s)

    def visible(self, *, now_ms: int, min_published_ms: int, since_ms: int = 0) -> Iterator[bytes]:
        """Every event a polling client starting at ``since_ms`` (persistence time) could have
        read by ``now_ms``: the ground truth for tests and benchmarks."""
        with self._lock:
            keep = [
                s
                for ms, s in zip(self._p_ms, self._p_seq, strict=True)
                if since_ms <= ms <= now_ms and self._pub_by_seq[s] >= min_published_ms
            ]
        for s in keep:
            yield self.get(s)

    def poll(
        self,
        *,
        after: tuple[int, int] | None,
        since_ms: int,
        now_ms: int,
        min_published_ms: int,
        limit: int,
        match: Matcher | None,
    ) -> Page:
        """A polling page: events persisted at or before ``now_ms``, in persistence order.

        Starts just after ``after`` when given, else at ``since_ms`` (persistence time).
        ``last_key`` is the key of the last returned event (None when the page is empty).
        ``has_more`` is always True: a polling stream never ends.
        """
        out: list[bytes] = []
        last: tuple[int, int] | None = None
        with self._lock:
            p_ms, p_seq = self._p_ms, self._p_seq
            if after is not None:
                i = _first_after(p_ms, p_seq, after)
            else:
                i = bisect_left(p_ms, since_ms)
            n = len(p_ms)
            pub = self._pub_by_seq
            blob_of = self._blob
            while i < n and len(out) < limit:
                ms = p_ms[i]
                if ms > now_ms:
                    break
                s = p_seq[i]
                i += 1
                if pub[s] < min_published_ms:
                    continue
                blob = blob_of(s)
                if match is not None and not match(blob):
                    continue
                out.append(blob)
                last = (ms, s)
        return Page(out, last, True)

    def bounded(
        self,
        *,
        after: tuple[int, int] | None,
        since_ms: int,
        until_ms: int,
        now_ms: int,
        descending: bool,
        limit: int,
        match: Matcher | None,
    ) -> Page:
        """A page of events with ``since_ms <= published < until_ms``, in published order.

        Only events already persisted (``persisted <= now_ms``) are seen. ``has_more`` is
        True only if another matching event exists after this page, so the last page of a
        bounded query carries no ``next`` link.
        """
        out: list[bytes] = []
        last: tuple[int, int] | None = None
        has_more = False
        with self._lock:
            u_ms, u_seq = self._u_ms, self._u_seq
            persist = self._persist_by_seq
            blob_of = self._blob
            end = bisect_left(u_ms, until_ms)
            if descending:
                start = end
                if after is not None:
                    start = min(start, _first_at_or_after(u_ms, u_seq, after))
                order = range(start - 1, -1, -1)
            else:
                start = bisect_left(u_ms, since_ms)
                if after is not None:
                    start = max(start, _first_after(u_ms, u_seq, after))
                order = range(start, end)
            for i in order if limit > 0 else ():
                ms = u_ms[i]
                if ms < since_ms:
                    break
                s = u_seq[i]
                if persist[s] > now_ms:
                    continue
                blob = blob_of(s)
                if match is not None and not match(blob):
                    continue
                if len(out) == limit:
                    has_more = True
                    break
                out.append(blob)
                last = (ms, s)
        return Page(out, last, has_more)
