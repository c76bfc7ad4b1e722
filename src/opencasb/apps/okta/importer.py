"""Read Okta System Log exports from disk: JSON lines, a JSON array, or an object wrapping one.

Contract:
    * :func:`read_okta_export` yields each event as a ``dict``, in file order, and each record
      it cannot read as a :class:`BadRecord`, so the caller can quarantine it; a malformed
      record never stops the import and never raises.
    * JSON lines are streamed one line at a time: memory does not grow with the file.
      A JSON document (an array, or an object with the events in an array under a key) is
      parsed whole (see :mod:`opencasb.formats.exports`).
    * Gzip files are read through gzip, in the same formats.
    * The file being unreadable (missing, a directory, no permission) raises
      :class:`~opencasb.errors.ConfigError`: that is the user's path, not a bad record.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from opencasb.formats.exports import BadRecord, export_lines, read_json_records, reading_export

__all__ = ["BadRecord", "read_okta_export"]

# Only an event has these; an object without them may wrap an event array.
_EVENT_KEYS: Final = ("uuid", "eventType")


def read_okta_export(path: Path) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield the events of an Okta System Log export file, and a BadRecord for each bad one.

    Raises:
        ConfigError: the file cannot be opened or read.
    """
    fix = "check that the path names a readable file exported from the Okta System Log"
    with reading_export(path, what="Okta export", fix=fix):
        records = read_json_records(export_lines(path), record_keys=_EVENT_KEYS, noun="events")
        for item in records:
            yield item if isinstance(item, BadRecord) else item[1]
