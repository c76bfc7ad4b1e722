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
    * Each event is conformed to the API's shape (:mod:`opencasb.formats.conform`): keys
      in other casing (``EventType``, ``Published``), ``published`` as
      ``YYYY-MM-DD HH:MM:SS[.fff]`` (UTC), and no ``uuid`` (one is derived from the
      content), as SIEMs and detection tools export them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from opencasb.formats.conform import Shape, conform
from opencasb.formats.exports import BadRecord, export_lines, read_json_records, reading_export

__all__ = [
    "OKTA_SHAPE",
    "BadRecord",
    "conform_okta",
    "read_okta_export",
]

# Only an event has these; an object without them may wrap an event array.
_EVENT_KEYS: Final = ("uuid", "eventType", "published")

# The System Log event's field names (camelCase, the same spelling at every depth);
# debugData holds free-form vendor keys.
_FIELDS: Final = frozenset(
    [
        "uuid",
        "published",
        "eventType",
        "version",
        "severity",
        "legacyEventType",
        "displayMessage",
        "actor",
        "client",
        "device",
        "outcome",
        "target",
        "transaction",
        "debugContext",
        "authenticationContext",
        "securityContext",
        "request",
        "id",
        "type",
        "alternateId",
        "displayName",
        "detailEntry",
        "userAgent",
        "rawUserAgent",
        "os",
        "browser",
        "zone",
        "ipAddress",
        "geographicalContext",
        "city",
        "state",
        "country",
        "postalCode",
        "geolocation",
        "lat",
        "lon",
        "result",
        "reason",
        "authenticationProvider",
        "credentialProvider",
        "credentialType",
        "issuer",
        "interface",
        "authenticationStep",
        "externalSessionId",
        "asNumber",
        "asOrg",
        "isp",
        "domain",
        "isProxy",
        "ipChain",
        "ip",
        "source",
        "detail",
        "changeDetails",
        "name",
        "debugData",
        "rootSessionId",
    ]
)
OKTA_SHAPE: Final = Shape(
    id_key="uuid",
    time_key="published",
    time_zone_suffix=True,
    top=_FIELDS,
    inner=_FIELDS,
    opaque=frozenset({"debugData"}),
)


def conform_okta(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` in the API's shape (:func:`~opencasb.formats.conform.conform` with
    :data:`OKTA_SHAPE`); what the reader yields for each record it reads."""
    return conform(record, OKTA_SHAPE)


def read_okta_export(path: Path) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield the events of an Okta System Log export file, and a BadRecord for each bad one.

    Raises:
        ConfigError: the file cannot be opened or read.
    """
    fix = "check that the path names a readable file exported from the Okta System Log"
    with reading_export(path, what="Okta export", fix=fix):
        records = read_json_records(export_lines(path), record_keys=_EVENT_KEYS, noun="events")
        for item in records:
            yield item if isinstance(item, BadRecord) else conform(item[1], OKTA_SHAPE)
