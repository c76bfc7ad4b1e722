"""Read Okta System Log exports from disk: JSON lines, a JSON array, or an object wrapping one.

Contract:
    * :func:`read_okta_export` yields each event as a ``dict``, in file order, and each record
      it cannot read as a :class:`BadRecord`, so the caller can quarantine it; a malformed
      record never stops the import and never raises.
    * JSON lines are streamed one line at a time: memory does not grow with the file.
      A JSON document (an array, or an object with the events in an array under a key) is
      parsed whole with orjson, since a document cannot be split safely without a streaming
      parser; such exports are the size a browser download produces.
    * ``.gz`` files are read through gzip, in the same formats.
    * The file being unreadable (missing, a directory, no permission) raises
      :class:`~opencasb.errors.ConfigError`: that is the user's path, not a bad record.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

import orjson

from opencasb.errors import ConfigError

__all__ = ["BadRecord", "read_okta_export"]

# Keys under which exporters and API wrappers put the event array, tried in this order before
# falling back to the first array of objects in the document.
_ARRAY_KEYS: Final = ("events", "logs", "data", "records", "items", "results", "value")
_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read.

    ``line_no`` is the 1-based line of a JSON-lines file; for a JSON document it is the 1-based
    position of the element in the event array (or 1 when the whole document is unreadable).
    ``text`` is the record as found, decoded leniently (the first 4 KiB of an unreadable
    document); ``error`` says what is wrong with it.
    """

    line_no: int
    text: str
    error: str


def read_okta_export(path: Path) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield the events of an Okta System Log export file, and a BadRecord for each bad one.

    Raises:
        ConfigError: the file cannot be opened or read.
    """
    try:
        with _open(path) as stream:
            first = _first_content_line(stream)
            if first is None:
                return
            line_no, line = first
            if _is_document_start(line):
                rest = stream.read()
                yield from _read_document(line + rest)
            else:
                yield from _read_lines(_chain_lines(line_no, line, stream))
    except (OSError, EOFError, zlib.error) as exc:  # gzip: BadGzipFile, truncated, corrupt
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ConfigError(
            f"cannot read Okta export {path}: {reason}",
            fix="check that the path names a readable file exported from the Okta System Log",
        ) from None


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        # GzipFile is a binary stream at run time; typeshed just does not declare it as one
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def _first_content_line(stream: BinaryIO) -> tuple[int, bytes] | None:
    for line_no, line in enumerate(stream, start=1):
        if line_no == 1:
            line = line.removeprefix(_BOM)
        if line.strip():
            return line_no, line
    return None


def _is_document_start(line: bytes) -> bool:
    """True when the file is one JSON document rather than one event per line.

    An array is always a document. An object is a document when its first line is not a whole
    JSON object by itself (pretty-printed), or when it is a wrapper around an event array.
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
        # event line of a JSON-lines file does not (it is reported as a BadRecord instead).
        return text == b"{" or text.endswith((b"{", b"[", b",", b":"))
    return isinstance(value, dict) and _looks_like_wrapper(value)


def _looks_like_wrapper(value: dict[str, Any]) -> bool:
    return "uuid" not in value and "eventType" not in value and _event_array(value) is not None


def _event_array(value: dict[str, Any]) -> list[Any] | None:
    for key in _ARRAY_KEYS:
        found = value.get(key)
        if isinstance(found, list):
            return found
    for found in value.values():
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return found
    return None


def _chain_lines(line_no: int, first: bytes, rest: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    yield line_no, first
    yield from enumerate(rest, start=line_no + 1)


def _read_lines(lines: Iterable[tuple[int, bytes]]) -> Iterator[dict[str, Any] | BadRecord]:
    for line_no, line in lines:
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadRecord(line_no, _text(line), f"not valid JSON: {exc}")
            continue
        if isinstance(value, dict):
            yield value
        else:
            yield BadRecord(line_no, _text(line), f"expected a JSON object, got {_kind(value)}")


def _read_document(data: bytes) -> Iterator[dict[str, Any] | BadRecord]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield BadRecord(1, _text(data[:4096]), f"not valid JSON: {exc}")
        return
    if isinstance(document, dict):
        events = _event_array(document)
        if events is None:
            if "uuid" in document or "eventType" in document:  # a single pretty-printed event
                yield document
            else:
                keys = ", ".join(sorted(document)[:10]) or "none"
                yield BadRecord(1, _text(data[:4096]), f"no array of events (keys: {keys})")
            return
    else:
        events = document
    if not isinstance(events, list):
        yield BadRecord(1, _text(data[:4096]), f"expected events, got {_kind(events)}")
        return
    for position, value in enumerate(events, start=1):
        if isinstance(value, dict):
            yield value
        else:
            text = orjson.dumps(value).decode()
            yield BadRecord(position, text, f"expected a JSON object, got {_kind(value)}")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )
