"""Stored enrichment as row values, away from the database (an ingest worker imports it).

An activity's enrichment (:class:`~opencasb.enrich.Enrichment`) is stored in two parts:

* everything but the IP tags is *interned*: its :func:`enrichment_key` (canonical JSON of
  :data:`ENRICHMENT_VERSION` and the fields in :data:`STORED_FIELDS` order) is one row of
  ``enrichments``, and the activity holds that row's id (``enrich_ref``). Activities from
  one address and client share a row, so a stored enrichment costs a few bytes per
  activity, and a reader parses each distinct one once;
* the IP tags are per address and change with the user's ranges: the activity's
  ``ip_tags`` column, as :func:`tags_text` (``",tag,tag,"``, NULL for none), which a filter
  tests for ``",tag,"`` with a substring search on both engines.

The enriched country code is also a column of the activity (``enrich_cc``), indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from opencasb.enrich.enricher import ENRICHMENT_VERSION, Enrichment

__all__ = [
    "STORED_FIELDS",
    "enrichment_from_key",
    "enrichment_key",
    "enrichment_values",
    "tags_from_text",
    "tags_text",
]

STORED_FIELDS: tuple[str, ...] = (
    "country_code",
    "country",
    "region",
    "city",
    "lat",
    "lon",
    "coarse",
    "geo_source",
    "asn",
    "isp",
    "ip_reserved",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
)
"""Enrichment's fields in the interned row (all but ``ip_tags``), in key order."""


def enrichment_key(e: Enrichment) -> str:
    """The canonical JSON text ``[version, *fields]`` of ``e`` without its tags."""
    return orjson.dumps([ENRICHMENT_VERSION, *(getattr(e, f) for f in STORED_FIELDS)]).decode()


def enrichment_values(key: str) -> dict[str, Any]:
    """The ``enrichments`` row of ``key`` (column -> value, ``id`` left out).

    Raises:
        ValueError: ``key`` is not an enrichment key.
    """
    parts = orjson.loads(key)
    if not isinstance(parts, list) or len(parts) != len(STORED_FIELDS) + 1:
        raise ValueError("not an enrichment key")
    out: dict[str, Any] = {"key": key, "version": int(parts[0])}
    out.update(zip(STORED_FIELDS, parts[1:], strict=True))
    return out


def enrichment_from_key(key: str, tags: Sequence[str] = ()) -> Enrichment:
    """The Enrichment of an interned ``key`` with ``tags``.

    Raises:
        ValueError: ``key`` is not an enrichment key.
    """
    values = enrichment_values(key)
    del values["key"], values["version"]
    try:
        return Enrichment(**values, ip_tags=tuple(tags))
    except TypeError as exc:
        raise ValueError(f"not an enrichment key: {exc}") from None


def tags_text(tags: Sequence[str]) -> str | None:
    """The ``ip_tags`` column of ``tags``: ``",a,b,"``, or None for none."""
    return f",{','.join(tags)}," if tags else None


def tags_from_text(text: str | None) -> tuple[str, ...]:
    """The tags of an ``ip_tags`` column value."""
    return tuple(t for t in text.split(",") if t) if text else ()
