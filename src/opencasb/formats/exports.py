"""Read audit-log export files: gzip, byte-order marks, JSON lines and JSON documents.

The app importers (``opencasb.apps.<app>.importer``) are built from these pieces; what they
add is how to tell one of their records from a wrapper around records, and any format of their
own (such as the Office 365 audit-search CSV).

Contract:
    * :func:`export_lines` yields the lines of a file as UTF-8 bytes, lazily: memory does not
      grow with the file. Gzip is detected by its magic bytes (or a ``.gz`` name); a UTF-8
      byte-order mark is dropped; UTF-16 (with its mark, as Windows PowerShell writes) is
      transcoded to UTF-8.
    * :func:`read_json_records` yields each record of JSON lines, a JSON array, or an object
      wrapping an array, as ``(position, dict)`` in file order, and a :class:`BadRecord` for
      each record it cannot read; a malformed record never stops the import and never raises.
      JSON lines are streamed; a JSON document is parsed whole with orjson, since it cannot be
      split safely without a streaming parser (such exports are browser-download sized).
    * :func:`reading_export` turns the file being unreadable (missing, a directory, no
      permission, corrupt gzip) into :class:`~opencasb.errors.ConfigError`: that is the
      user's path, not a bad record.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

import orjson

from opencasb.errors import ConfigError

__all__ = [
    "BadRecord",
    "Line",
    "NumberedRecord",
    "describe_kind",
    "export_lines",
    "first_content_line",
    "read_json_records",
    "reading_export",
    "text_of",
]

Line = tuple[int, bytes]
"""A 1-based line number and the line, as UTF-8 bytes with its line ending."""

NumberedRecord = tuple[int, dict[str, Any]]
"""A record and where it was found: its line (JSON lines, CSV) or its array position."""

# Keys under which exporters and API wrappers put the record array, tried in this order before
# falling back to the first array of objects in the document.
_ARRAY_KEYS: Final = ("events", "logs", "data", "records", "items", "results", "value")
_GZIP_MAGIC: Final = b"\x1f\x8b"
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_SNIPPET: Final = 4096


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read.

    ``line_no`` is the 1-based line of a JSON-lines or CSV file (where the row starts); for a
    JSON document it is the 1-based position of the element in the record array (or 1 when
    the whole document is unreadable). ``text`` is the record as found, decoded leniently (the
    first 4 KiB of an unreadable document); ``error`` says what is wrong with it.
    """

    line_no: int
    text: str
    error: str


@contextmanager
def reading_export(path: Path, *, what: str, fix: str) -> Iterator[None]:
    """Translate a failure to read ``path`` into ConfigError("cannot read <what> <path>: ...").

    Raises:
        ConfigError: the body failed with OSError, EOFError or zlib.error (gzip: BadGzipFile,
            truncated, corrupt), or with a UnicodeDecodeError of the UTF-16 transcoding.
    """
    try:
        yield
    except (OSError, EOFError, zlib.error, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ConfigError(f"cannot read {what} {path}: {reason}", fix=fix) from None


def export_lines(path: Path) -> Iterator[Line]:
    """Yield the numbered lines of ``path`` as UTF-8 bytes, undoing gzip and byte-order marks.

    Raises:
        OSError, EOFError, zlib.error: the file cannot be read (see :func:`reading_export`).
    """
    with _open(path) as stream:
        head = stream.read(4)
        stream.seek(0)  # cheap for a gzip file this close to its start
        if head.startswith(_UTF16_BOMS):
            text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")
            for line_no, decoded in enumerate(text, start=1):
                yield line_no, decoded.encode("utf-8")
            return
        for line_no, line in enumerate(stream, start=1):
            yield line_no, line.removeprefix(_UTF8_BOM) if line_no == 1 else line


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    # A ".gz" name that is not gzip is opened as gzip anyway, so the user hears that it is not.
    if compressed or path.suffix == ".gz":
        # GzipFile is a binary stream at run time; typeshed just does not declare it as one
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def first_content_line(lines: Iterator[Line]) -> Line | None:
    """Consume ``lines`` up to and including the first that is not blank, and return it."""
    for line_no, line in lines:
        if line.strip():
            return line_no, line
    return None


def read_json_records(
    lines: Iterable[Line], *, record_keys: Collection[str], noun: str = "records"
) -> Iterator[NumberedRecord | BadRecord]:
    """Yield the records of a JSON export, numbered, and a BadRecord for each bad one.

    Args:
        lines: the file, from :func:`export_lines`.
        record_keys: keys only a record has (Okta ``uuid``, Office 365 ``Id``; in any
            casing): an object with one of them is a record, never a wrapper around a
            record array.
        noun: what the app calls its records, for error text ("events").
    """
    stream = iter(lines)
    first = first_content_line(stream)
    if first is None:
        return
    line = first[1]
    if _is_document_start(line, record_keys):
        data = b"".join(chain([line], (rest for _, rest in stream)))
        yield from _read_document(data, record_keys, noun)
    else:
        yield from _read_lines(chain([first], stream))


def _is_document_start(line: bytes, record_keys: Collection[str]) -> bool:
    """True when the file is one JSON document rather than one record per line.

    An array is always a document. An object is a document when its first line is not a whole
    JSON object by itself (pretty-printed), or when it is a wrapper around a record array.
    """
    text = line.strip()
    if text.startswith(b"["):
        return True
    if not text.startswith(b"{"):
        return False
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        # Pretty-printed JSON opens with a line that ends mid-value; a merely broken first
        # record line of a JSON-lines file does not (it is reported as a BadRecord instead).
        return text == b"{" or text.endswith((b"{", b"[", b",", b":"))
    return isinstance(value, dict) and _looks_like_wrapper(value, record_keys)


def _looks_like_wrapper(value: dict[str, Any], record_keys: Collection[str]) -> bool:
    return not _has_record_key(value, record_keys) and _record_array(value) is not None


def _has_record_key(value: dict[str, Any], record_keys: Collection[str]) -> bool:
    """Whether ``value`` has one of ``record_keys``, in any casing (re-exports change it)."""
    wanted = {key.lower() for key in record_keys}
    return any(isinstance(key, str) and key.lower() in wanted for key in value)


def _record_array(value: dict[str, Any]) -> list[Any] | None:
    for key in _ARRAY_KEYS:
        found = value.get(key)
        if isinstance(found, list):
            return found
    for found in value.values():
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return found
    return None


def _read_lines(lines: Iterable[Line]) -> Iterator[NumberedRecord | BadRecord]:
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadRecord(line_no, text_of(line), f"not valid JSON: {exc}")
            continue
        if isinstance(value, dict):
            yield line_no, value
        else:
            error = f"expected a JSON object, got {describe_kind(value)}"
            yield BadRecord(line_no, text_of(line), error)


def _read_document(
    data: bytes, record_keys: Collection[str], noun: str
) -> Iterator[NumberedRecord | BadRecord]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield BadRecord(1, text_of(data[:_SNIPPET]), f"not valid JSON: {exc}")
        return
    if isinstance(document, dict):
        records = _record_array(document)
        if records is None:
            if _has_record_key(document, record_keys):  # one pretty-printed record
                yield 1, document
            else:
                keys = ", ".join(sorted(document)[:10]) or "none"
                error = f"no array of {noun} (keys: {keys})"
                yield BadRecord(1, text_of(data[:_SNIPPET]), error)
            return
    else:
        records = document
    if not isinstance(records, list):
        error = f"expected {noun}, got {describe_kind(records)}"
        yield BadRecord(1, text_of(data[:_SNIPPET]), error)
        return
    for position, value in enumerate(records, start=1):
        if isinstance(value, dict):
            yield position, value
        else:
            text = orjson.dumps(value).decode()
            yield BadRecord(position, text, f"expected a JSON object, got {describe_kind(value)}")


def text_of(raw: bytes | str) -> str:
    """``raw`` as text for a BadRecord: undecodable bytes replaced, line ending dropped."""
    if isinstance(raw, bytes):
        data = raw
    else:
        # surrogateescape'd bytes from a lenient decode cannot be stored; show them as U+FFFD
        try:
            data = raw.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError:
            data = raw.encode("utf-8", errors="replace")
    return data.decode("utf-8", errors="replace").rstrip("\r\n")


def describe_kind(value: Any) -> str:
    """The JSON kind of a parsed value, for error text: "an object", "a number", "null"..."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
