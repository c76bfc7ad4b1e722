"""Bring records exported by other tools back to the shape of the app's API.

SIEMs and detection tools re-export audit records with their keys in other casing
(``EventType``, ``eventtype``, ``Published``), times as ``YYYY-MM-DD HH:MM:SS[.fff]`` (UTC,
no zone) and sometimes without the record's id. :func:`conform` undoes that for one record,
given the app's :class:`Shape`, so that the app's normalizer and the store see what the API
would have sent.

Contract:
    * Keys: a key is renamed to the shape's spelling when it differs from it only in case,
      the record does not also hold the key in the right spelling, and the spelling is
      unambiguous at that depth (``Id`` and ``ID`` both exist inside Office 365 records, so
      neither is touched there). Values under an ``opaque`` key (free-form vendor data) keep
      their keys. Nothing else is renamed; no key is dropped.
    * Time: the shape's time field, when it is ``YYYY-MM-DD HH:MM:SS`` with optional
      fraction and an optional ``Z``, ``UTC`` or ``+00:00`` zone, is rewritten in the API's own
      form (:attr:`Shape.time_zone_suffix` says whether that form ends in ``Z``). Any other
      value is left for the normalizer to accept or quarantine with its reason.
    * Id: a record without a usable id (missing, empty or not a string) gets
      :func:`derived_id` of its conformed content, so importing it again adds nothing.
    * The input is never modified; a record already in the API's shape comes back equal.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

__all__ = ["DERIVED_PREFIX", "Shape", "conform", "derived_id"]

DERIVED_PREFIX: Final = "sha256-"
"""Ids derived from a record's content start with this (an API id never does)."""

_SPACED_TIME: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s*(?:Z|UTC|\+00:?00)?",
    re.IGNORECASE,
)


def _spellings(names: Iterable[str]) -> dict[str, str]:
    """lower case -> spelling, leaving out lower cases that have several spellings."""
    by_lower: dict[str, set[str]] = {}
    for name in names:
        by_lower.setdefault(name.lower(), set()).add(name)
    return {low: next(iter(s)) for low, s in by_lower.items() if len(s) == 1}


@dataclass(frozen=True, slots=True)
class Shape:
    """How an app's records look when its API sends them.

    Attributes:
        id_key: the record id's key (``uuid``, ``Id``).
        time_key: the record time's key (``published``, ``CreationTime``).
        time_zone_suffix: whether the API writes that time with a trailing ``Z``.
        top: the spellings of keys at the top of a record.
        inner: the spellings of keys inside nested objects (at any depth).
        opaque: keys whose values are free-form (their keys are never renamed).
    """

    id_key: str
    time_key: str
    time_zone_suffix: bool
    top: frozenset[str]
    inner: frozenset[str] = frozenset()
    opaque: frozenset[str] = frozenset()
    _top: dict[str, str] = field(init=False, repr=False, compare=False)
    _inner: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_top", _spellings(self.top | {self.id_key, self.time_key}))
        object.__setattr__(self, "_inner", _spellings(self.inner))


def conform(record: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
    """``record`` in the API's shape (see the module contract); a new dict."""
    out = _rename(record, shape._top, shape)
    time = out.get(shape.time_key)
    if isinstance(time, str):
        out[shape.time_key] = _api_time(time, shape.time_zone_suffix)
    rid = out.get(shape.id_key)
    if not isinstance(rid, str) or not rid.strip():
        out.pop(shape.id_key, None)
        out[shape.id_key] = derived_id(out)
    return out


def derived_id(record: Mapping[str, Any]) -> str:
    """A stable id for a record without one: ``sha256-`` and the SHA-256 of its canonical
    JSON (keys sorted at every depth, no spaces), so equal content gives the same id."""
    try:
        text = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits, very deep nesting: what JSON still holds
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
            "utf-8", "surrogatepass"
        )
    return DERIVED_PREFIX + hashlib.sha256(text).hexdigest()


def _rename(value: Mapping[str, Any], names: dict[str, str], shape: Shape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key
        canonical = names.get(key.lower()) if isinstance(key, str) else None
        if canonical is not None and canonical != key and canonical not in value:
            name = canonical
        out[name] = item if name in shape.opaque else _inner(item, shape)
    return out


def _inner(value: Any, shape: Shape) -> Any:
    if isinstance(value, dict):
        return _rename(value, shape._inner, shape)
    if isinstance(value, list):
        return [_inner(v, shape) for v in value]
    return value


def _api_time(value: str, zone_suffix: bool) -> str:
    if value[10:11] == "T" and "," not in value and not value.upper().endswith("UTC"):
        return value  # ISO 8601 already: the normalizer reads it as it is
    match = _SPACED_TIME.fullmatch(value.strip())
    if match is None:
        return value
    date, clock, fraction = match.groups()
    text = f"{date}T{clock}" + (f".{fraction}" if fraction else "")
    return text + "Z" if zone_suffix else text
