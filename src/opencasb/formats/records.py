"""A page of records kept as the JSON text of each, parsed only where something reads it.

An API answers a page of audit records as one JSON array. Parsing all of it into dicts in
the sync process, only to serialize each record again for the worker processes that
normalize it (and for the ``raw`` column), was a third of that process's time in a
backfill, and that process is the one every page waits for. :class:`RawRecords` instead
splits the array into the text of each record (without building any objects for their
contents) and decodes only the few top-level fields a feed asks for -- its *heads*: the
time for progress, the record type for a filter. The texts go to the workers and the store
untouched; a record becomes a dict only when some code indexes or iterates the page.

Every text is valid JSON (the array was checked as a whole). A record that is not a JSON
object is kept, and the runner quarantines it as it would from a parsed page.

:class:`Records` is what the ingest runner and pipeline need of any page, whatever form it
was fetched in: a :class:`RawRecords`, or a :class:`ParsedRecords` around records a feed
parsed itself (:func:`records_of` gives the one or the other).
"""

from __future__ import annotations

import contextlib
import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, overload

import msgspec
import orjson

__all__ = ["NotAnArray", "ParsedRecords", "RawRecords", "Records", "parse_record", "records_of"]

_SPLIT = msgspec.json.Decoder(list[msgspec.Raw])
_DECODE = msgspec.json.Decoder().decode
_HEAD_DECODERS: dict[tuple[str, ...], msgspec.json.Decoder[list[Any]]] = {}


def parse_record(text: str) -> Any:
    """One record's JSON text, parsed.

    msgspec, as fast as orjson here, keeps integers beyond 64 bits exact (orjson 3.13
    rounds them to floats). What msgspec refuses but the standard library reads (numbers
    beyond a double, lone surrogates) is read by the latter, so such a record is normalized
    like any other. Text that neither accepts is returned as it is, and the runner
    quarantines it as not being an object.
    """
    try:
        return _DECODE(text)
    except msgspec.DecodeError:
        try:
            return json.loads(text)
        except ValueError:
            return text


class NotAnArray(ValueError):
    """The body is valid JSON but not an array (an error object, say), or not JSON at all."""


def _head_decoder(fields: tuple[str, ...]) -> msgspec.json.Decoder[list[Any]]:
    # A Struct of just those fields: msgspec skips every other key without building it.
    decoder = _HEAD_DECODERS.get(fields)
    if decoder is None:
        head = msgspec.defstruct(
            "Head", [(f, Any, None) for f in fields], forbid_unknown_fields=False
        )
        decoder = _HEAD_DECODERS[fields] = msgspec.json.Decoder(list[head])  # type: ignore[valid-type]
    return decoder


class Records(Sequence[Any]):
    """The records of one page: indexing gives the parsed record, as a feed fetched it.

    Subclasses say how each record travels and what the quarantine keeps of it.
    """

    __slots__ = ()

    @abstractmethod
    def wire(self) -> list[str] | None:
        """Each record's JSON text, which parses back to that record (a worker process
        normalizes it, and the ``raw`` column keeps it); None when some record is not plain
        JSON, so the page must be normalized in this process from the records themselves."""

    @abstractmethod
    def as_fetched(self, i: int) -> Any:
        """What the quarantine keeps of record ``i``: the record as it was fetched (its
        text when it came as text: serializing it again could fail or change it)."""


def records_of(records: Sequence[Any]) -> Records:
    """``records`` as :class:`Records`: itself, or a :class:`ParsedRecords` around it."""
    return records if isinstance(records, Records) else ParsedRecords(records)


class ParsedRecords(Records):
    """Records a feed parsed itself (a list of dicts), as :class:`Records`."""

    __slots__ = ("_records", "_serialized", "_texts")

    def __init__(self, records: Sequence[Any]) -> None:
        self._records = records
        self._texts: list[str] | None = None
        self._serialized = False

    def wire(self) -> list[str] | None:
        if not self._serialized:
            self._serialized = True
            try:
                self._texts = [orjson.dumps(r).decode() for r in self._records]
            except TypeError:  # not plain JSON (non-string keys, odd types)
                self._texts = None
        return self._texts

    def as_fetched(self, i: int) -> Any:
        return self._records[i]

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return list(self._records[i])
        return self._records[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"ParsedRecords({len(self._records)} records)"


class RawRecords(Records):
    """The records of one page: each one's JSON text, its head fields, and (once read) the
    parsed record.

    Indexing or iterating yields the parsed record (:func:`parse_record` of its text),
    exactly what a parsed page would hold; iterating or slicing parses every record once and
    keeps them. :attr:`texts` and :meth:`head` (with heads) never parse.

    Attributes:
        texts: the JSON text of each record, as the API sent it.
    """

    __slots__ = ("_head_fields", "_heads", "_parsed", "texts")

    def __init__(
        self, texts: list[str], heads: list[Any] | None = None, head_fields: tuple[str, ...] = ()
    ) -> None:
        self.texts = texts
        # Per record: a head Struct, a dict of the head fields, or None (not an object).
        self._heads = heads
        self._head_fields = head_fields if heads is not None else ()
        self._parsed: list[Any] | None = None

    @classmethod
    def split(cls, body: bytes, head: tuple[str, ...] = ()) -> RawRecords:
        """The records of a JSON array, with the top-level fields ``head`` of each decoded.

        Raises:
            NotAnArray: ``body`` is not a JSON array (or not JSON).
        """
        try:
            texts = [str(r, "utf-8") for r in _SPLIT.decode(body)]
        except msgspec.ValidationError:
            raise NotAnArray("the JSON is not an array") from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            # JSON must be UTF-8, and no record nests a thousand levels deep.
            raise NotAnArray(f"not JSON: {exc}") from None
        records = cls(texts)
        if head:
            try:
                records._heads = _head_decoder(head).decode(body)
            except msgspec.ValidationError:
                # A record that is not an object: read the heads off the parsed records.
                records._heads = [
                    {f: r.get(f) for f in head} if isinstance(r, dict) else None for r in records
                ]
            records._head_fields = head
        return records

    @classmethod
    def concat(cls, parts: Sequence[RawRecords]) -> RawRecords:
        """One page of the records of ``parts``, in order (heads kept if every part has them)."""
        texts = [t for p in parts for t in p.texts]
        fields = parts[0]._head_fields if parts else ()
        have_heads = all(p._heads is not None and p._head_fields == fields for p in parts)
        heads = [h for p in parts for h in p._heads or ()] if have_heads else None
        return cls(texts, heads, fields)

    def head(self, i: int) -> dict[str, Any] | None:
        """The head fields of record ``i`` decoded by :meth:`split` (a missing field is
        None), or without heads the parsed record itself; None if it is not a JSON object."""
        if self._heads is None:
            record = self[i]
            return record if isinstance(record, dict) else None
        h = self._heads[i]
        if h is None or type(h) is dict:
            return h
        return {f: getattr(h, f) for f in h.__struct_fields__}

    def column(self, field: str) -> list[Any]:
        """The value of top-level ``field`` in each record (None where it is missing or the
        record is not an object); from the heads when ``field`` is one of them."""
        heads = self._heads
        if heads is None or field not in self._head_fields:
            return [r.get(field) if isinstance(r, dict) else None for r in self]
        with contextlib.suppress(AttributeError):
            # The usual page: every head a Struct holding the field.
            return [getattr(h, field) for h in heads]
        return [None if h is None else h.get(field) for h in heads]  # dicts: see split

    def select(self, keep: Sequence[bool]) -> RawRecords:
        """The records whose ``keep`` flag is true, in order."""
        texts = [t for t, k in zip(self.texts, keep, strict=True) if k]
        heads = self._heads
        kept = RawRecords(
            texts,
            [h for h, k in zip(heads, keep, strict=True) if k] if heads is not None else None,
            self._head_fields,
        )
        if self._parsed is not None:
            kept._parsed = [r for r, k in zip(self._parsed, keep, strict=True) if k]
        return kept

    def wire(self) -> list[str]:
        return self.texts

    def as_fetched(self, i: int) -> str:
        return self.texts[i]

    def _all(self) -> list[Any]:
        parsed = self._parsed
        if parsed is None:
            parsed = self._parsed = [parse_record(t) for t in self.texts]
        return parsed

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if self._parsed is None and isinstance(i, int):
            return parse_record(self.texts[i])  # one record: parse only that one
        return self._all()[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def __repr__(self) -> str:
        return f"RawRecords({len(self.texts)} records)"
