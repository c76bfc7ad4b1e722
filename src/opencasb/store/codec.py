"""Conversions between model objects and store rows: the only place that knows both shapes.

The write side (:func:`activity_head`, :func:`activity_body`, :func:`actor_key`) is the ingest
hot path: it builds one plain list per activity (the filtered columns) and one compressed
body (everything else, with the raw record), with orjson and no per-row SQLAlchemy objects.
It needs nothing from the database, so it can run in a worker process (see
:mod:`opencasb.store.pages`); only ``actor_ref`` is filled in by the writer. The read side
(:func:`activity_from_row`) rebuilds a full :class:`Activity` and turns any damage in a row
into a :class:`StoreError` that names the row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import orjson

from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import body as _body
from opencasb.store.ipkey import ip_key
from opencasb.store.lazy import LazyRecord
from opencasb.store.micros import from_micros, to_micros

__all__ = [
    "ACTIVITY_READ_COLUMNS",
    "ACTIVITY_WRITE_COLUMNS",
    "CORRUPT_FIX",
    "ActorKey",
    "activity_body",
    "activity_from_row",
    "activity_head",
    "actor_key",
    "body_description",
    "body_plaintext",
    "body_plaintext_of",
    "decode_body",
    "dumps",
    "loads",
    "loads_object",
    "raw_json",
    "split_body",
    "targets_text_of",
]

# Order of an inserted row: the activity_head list and the enriched country code and IP tags
# (store.pages appends them), then body, actor_ref, enrich_ref and origin, which the writer
# appends. The insert statements are generated from it. Only what a filter, the order,
# the duplicate check or the provenance rule reads is a column of its own; everything else is
# in ``body`` (see :func:`activity_body`).
ACTIVITY_WRITE_COLUMNS: tuple[str, ...] = (
    "instance_id",
    "source_event_id",
    "time",
    "app",
    "activity_type",
    "action",
    "outcome",
    "country",
    "country_code",
    "ip_key",
    "category",
    "user_key",
    "key_is_email",
    "enrich_cc",
    "ip_tags",
    "body",
    "actor_ref",
    "enrich_ref",
    "origin",
)

# Order of the columns activity_from_row expects (the lookup keys and the stored enrichment,
# which store.enrichment reads, are not read back).
_WRITE_ONLY = frozenset(
    {
        "actor_ref",
        "ip_key",
        "category",
        "user_key",
        "key_is_email",
        "origin",
        "enrich_cc",
        "ip_tags",
        "enrich_ref",
    }
)
ACTIVITY_READ_COLUMNS: tuple[str, ...] = (
    "id",
    *(c for c in ACTIVITY_WRITE_COLUMNS if c not in _WRITE_ONLY),
)

_CATEGORIES = frozenset(Category)
_OUTCOMES = frozenset(Outcome)


def _json_default(value: Any) -> Any:
    # orjson handles dicts, lists, dataclasses, enums and datetimes natively; vendor records
    # may still arrive as other Mappings or tuples/sets.
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """JSON text for a TEXT column (non-string keys allowed, as vendor data has them).

    Raises:
        TypeError: ``value`` holds something JSON cannot represent.
    """
    try:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _slow_dumps(value)


def _slow_dumps(value: Any) -> str:
    # What orjson refuses but JSON can hold: integers beyond 64 bits (vendor ids), nesting
    # deeper than 255 levels. The standard library writes both (and fails like orjson on
    # what JSON cannot hold; NaN too, which it would otherwise write as invalid JSON).
    try:
        return json.dumps(
            value,
            default=_json_default,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (ValueError, RecursionError) as exc:
        raise TypeError(f"not representable as JSON: {exc}") from None


def loads(text: str | bytes) -> Any:
    """Parse JSON text as written by :func:`dumps` or received from an API: integers beyond
    64 bits stay exact (msgspec; orjson 3.13 would round them) and what msgspec refuses but
    the standard library reads (numbers beyond a double) is read.

    Raises:
        ValueError: not JSON.
    """
    try:
        return _DECODE(text)
    except msgspec.DecodeError:
        try:
            return json.loads(text)
        except RecursionError as exc:
            raise ValueError(f"nested too deep: {exc}") from None


_DECODE = msgspec.json.Decoder().decode


def loads_object(text: str | None, what: str) -> dict[str, Any]:
    """Parse a JSON object column; ``what`` names the row in the error if it is damaged."""
    if text is None:
        return {}
    try:
        value = loads(text)
    except ValueError as exc:
        raise StoreError(f"{what} holds invalid JSON: {exc}", fix=CORRUPT_FIX) from exc
    if not isinstance(value, dict):
        raise StoreError(f"{what} holds JSON that is not an object", fix=CORRUPT_FIX)
    return value


CORRUPT_FIX = (
    "The row was damaged outside OpenCASB. Restore the database from a backup, or delete "
    "the row and re-ingest the period it covers."
)


ActorKey = tuple[str | None, str | None, str | None]
"""Lower-cased ``(id, email, name)``: what an actor is interned under in ``actors``."""


def actor_key(actor: Actor) -> ActorKey | None:
    """The lower-cased ``(id, email, name)`` an actor is interned under, or ``None`` if the
    actor names nobody. The type is left out: the user filter never asks for it."""
    id_, email, name = actor.id, actor.email, actor.name
    if not (id_ or email or name):
        return None
    return (
        id_.lower() if id_ else None,
        email.lower() if email else None,
        name.lower() if name else None,
    )


# Plain-str values of the enums; a lookup both converts and validates.
_CATEGORY_TEXT: dict[str, str] = {c: c.value for c in Category}
_OUTCOME_TEXT: dict[str, str] = {o: o.value for o in Outcome}
_OPTS = orjson.OPT_NON_STR_KEYS


def _targets_json(targets: tuple[Target, ...]) -> str:
    # Written by hand rather than through orjson's dataclass support: same text, no
    # per-field reflection, and targets are on every row.
    if not targets:
        return "[]"
    value = [
        {"id": t.id, "type": t.type, "name": t.name, "alternate_id": t.alternate_id}
        for t in targets
    ]
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return dumps(value)


def targets_text_of(fields: Sequence[Any]) -> str:
    """The targets of a :func:`decode_body` field list as the JSON text they were written as
    (a list of Target dicts), which the text filter searches."""
    return dumps(fields[_TARGETS])


def activity_head(instance_id: int, a: Activity) -> list[Any]:
    """The first columns of ``a``'s row, in :data:`ACTIVITY_WRITE_COLUMNS` order: all but
    ``body`` (see :func:`activity_body`), ``actor_ref`` and ``origin``, which the writer
    appends.

    Raises:
        TypeError, ValueError, KeyError: a field breaks the Activity contract (naive time,
            unknown category or outcome, empty source event id). The caller turns these
            into a StoreError naming the activity.
    """
    if not a.source_event_id:
        raise ValueError("empty source_event_id")
    try:
        outcome = _OUTCOME_TEXT[a.outcome]
    except KeyError:
        raise ValueError(f"unknown outcome {a.outcome!r}") from None
    try:
        category = _CATEGORY_TEXT[a.category]
    except KeyError:
        raise ValueError(f"unknown category {a.category!r}") from None
    geo = a.geo or _NO_GEO
    country_code = geo.country_code
    src_ip = a.src_ip
    key = ip_key(src_ip) if src_ip else None
    actor = a.actor
    email = actor.email
    return [
        instance_id,
        a.source_event_id,
        to_micros(a.time),
        a.app,
        a.activity_type,
        a.action,
        outcome,
        geo.country,
        country_code.upper() if country_code else None,
        bytes.fromhex(key) if key is not None else None,
        category,
        # the user key of the actor a read gives back (its e-mail lower-cased: see
        # body_plaintext), so that a reader of these columns keys the user as one of the body
        Actor.key_of(actor.id, actor.name, email.lower() if email else None),
        bool(email),
    ]


_BODY_LAYOUT = 1
"""First element of a body's field list: how the list is laid out (bump it to change it)."""
_BODY_FIELDS = 21
_DESCRIPTION, _TARGETS = 18, 19


def activity_body(a: Activity, raw_text: str | None = None) -> bytes:
    """The ``body`` column of ``a``: :func:`body_plaintext` as one zstd frame compressed with
    the app's dictionary (see :mod:`opencasb.store.body`).

    Raises:
        TypeError, ValueError, KeyError: as :func:`body_plaintext`.
    """
    return _body.compress(a.app, body_plaintext(a, raw_text))


def body_plaintext(a: Activity, raw_text: str | None = None) -> bytes:
    """What :func:`activity_body` compresses (also what its dictionaries are trained on).

    It holds a JSON list of the fields, a newline (never inside compact JSON), then
    the raw record's JSON text: ``raw_text`` as fetched when the caller has it, else ``a.raw``
    serialized. Values that appear in both the fields and the raw record (user agent,
    addresses, names) cost the compressor a back-reference, so they are not stored twice.

    Raises:
        TypeError, ValueError, KeyError: a field breaks the Activity contract (unknown
            category, details or raw that JSON cannot represent).
    """
    try:
        category = _CATEGORY_TEXT[a.category]
    except KeyError:
        raise ValueError(f"unknown category {a.category!r}") from None
    actor = a.actor
    email = actor.email
    geo = a.geo or _NO_GEO
    scalars = [
        _BODY_LAYOUT,
        category,
        a.outcome_detail,
        a.outcome_reason,
        actor.id,
        actor.name,
        email.lower() if email else None,
        actor.type,
        a.src_ip,
        geo.region,
        geo.city,
        # floats as the REAL columns they replace returned them (an int latitude read as 37.0)
        None if geo.lat is None else float(geo.lat),
        None if geo.lon is None else float(geo.lon),
        a.asn,
        a.isp,
        a.user_agent,
        a.device,
        a.severity,
        a.description,
    ]
    try:
        head = orjson.dumps(scalars)
    except TypeError:
        head = dumps(scalars).encode()
    details = a.details
    return b"".join(
        (
            head[:-1],
            b",",
            _targets_json(a.targets).encode(),
            b",",
            _details_json(details).encode() if details else b"{}",
            b"]\n",
            (raw_text if raw_text is not None else raw_json(a.raw)).encode(),
        )
    )


def body_description(fields: Sequence[Any]) -> str:
    """The description in a :func:`decode_body` field list."""
    return str(fields[_DESCRIPTION])


def decode_body(blob: bytes) -> tuple[list[Any], bytes]:
    """Split a ``body`` column into its field list (parsed) and the raw record's JSON text.

    Raises:
        ValueError: the body is damaged or of an unknown layout.
    """
    return split_body(body_plaintext_of(blob))


def body_plaintext_of(blob: bytes) -> bytes:
    """A ``body`` column decompressed (:func:`body_plaintext`'s output).

    Raises:
        ValueError: the body is damaged.
    """
    return _body.decompress(blob)


def split_body(data: bytes) -> tuple[list[Any], bytes]:
    """:func:`body_plaintext` output as its field list (parsed) and raw record's JSON text.

    Raises:
        ValueError: the plaintext is damaged or of an unknown layout.
    """
    cut = data.find(b"\n")
    if cut < 0:
        raise ValueError("body without a raw record")
    fields = loads(data[:cut])
    if not isinstance(fields, list) or len(fields) != _BODY_FIELDS or fields[0] != _BODY_LAYOUT:
        raise ValueError("body fields of an unknown layout")
    return fields, data[cut + 1 :]


def _details_json(details: Mapping[str, Any]) -> str:
    try:
        return orjson.dumps(details, default=_json_default, option=_OPTS).decode()
    except TypeError:
        return _slow_dumps(details)


def raw_json(raw: Any) -> str:
    """The vendor record as JSON text (what the body keeps when no fetched text is given).

    Raises:
        TypeError: ``raw`` holds something JSON cannot represent.
    """
    # Parsed JSON (the usual raw) serializes without options or the default hook; anything
    # else (non-string keys, other Mappings) takes the general path.
    try:
        return orjson.dumps(raw).decode()
    except TypeError:
        return dumps(raw)


_NO_GEO = Geo()
# Decoding looks enum members up by value in plain dicts: Enum's own call costs about a
# microsecond per row, a measurable share of the detection stage's reads.
_CATEGORY_BY_VALUE: dict[str, Category] = {c.value: c for c in Category}
_OUTCOME_BY_VALUE: dict[str, Outcome] = {o.value: o for o in Outcome}


def _member(table: Mapping[str, Any], value: Any, kind: str) -> Any:
    """``table[value]``, or the ValueError the enum's own lookup raises."""
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ValueError(f"{value!r} is not a valid {kind}") from None


class _TargetRow(msgspec.Struct, forbid_unknown_fields=True):
    """A target as the body writes it; any value type, as ``Target(**t)`` takes, and an
    unknown key is damage."""

    id: Any = None
    type: Any = None
    name: Any = None
    alternate_id: Any = None


# The body's field list as msgspec decodes it in one pass, the targets parsed into structs in
# C (``Target(**t)`` on parsed dicts cost more than parsing the JSON). A row this does not
# fit (damaged, or a number beyond a double) takes the general path, which reads whatever
# the plain parse gives and reports damage as before.
_FieldList = tuple[
    Any, Any, Any, Any, Any, Any, Any, Any, Any, Any,
    Any, Any, Any, Any, Any, Any, Any, Any, Any, list[_TargetRow], dict[str, Any],
]  # fmt: skip
_DECODE_FIELDS = msgspec.json.Decoder(_FieldList).decode


def _fields_of(data: bytes) -> tuple[Sequence[Any], tuple[Target, ...], bytes]:
    """:func:`split_body`, and the targets as :class:`Target` objects (the field list's own
    targets entry is left as it was decoded)."""
    cut = data.find(b"\n")
    if cut >= 0:
        try:
            typed = _DECODE_FIELDS(data[:cut])
        except msgspec.DecodeError:
            pass
        else:
            if typed[0] == _BODY_LAYOUT:
                rows = typed[19]
                targets = (
                    tuple([Target(t.id, t.type, t.name, t.alternate_id) for t in rows])
                    if rows
                    else ()
                )
                return typed, targets, data[cut + 1 :]
    fields, raw_text = split_body(data)
    return fields, tuple(Target(**t) for t in fields[_TARGETS]), raw_text


def activity_from_row(
    row: Sequence[Any],
    instance_names: Mapping[int, str],
    *,
    lazy_raw: bool = False,
    shared: dict[tuple[Any, ...], Any] | None = None,
) -> Activity:
    """Rebuild an Activity from a row in :data:`ACTIVITY_READ_COLUMNS` order (columns after
    those are ignored).

    With ``lazy_raw``, ``raw`` is a :class:`~opencasb.store.lazy.LazyRecord`: the vendor
    record's JSON text, parsed on first use (the detection stage's reads: few activities
    ever have their ``raw`` looked at, and parsing it was a third of reading a row); damage
    in it then raises the same :class:`StoreError` at that first use.

    ``shared``: a dict the caller keeps over a batch of rows, in which equal actors and
    places are built once and shared (they are immutable; a batch holds few distinct ones,
    so this saves building, freeing and holding most of them).

    Raises:
        StoreError: the row holds a damaged body, invalid JSON or an unknown enum value; the
            message names the row id.
    """
    (
        row_id,
        instance_id,
        source_event_id,
        time,
        app,
        activity_type,
        action,
        outcome,
        country,
        country_code,
        body,
        *_more,  # columns a caller read beyond these (observed_after: the enrichment's)
    ) = row
    what = f"activities row {row_id}"
    try:
        fields, targets, raw_text = _fields_of(_body.decompress(bytes(body)))
        (
            _layout,
            category,
            outcome_detail,
            outcome_reason,
            actor_id,
            actor_name,
            actor_email,
            actor_type,
            src_ip,
            region,
            city,
            lat,
            lon,
            asn,
            isp,
            user_agent,
            device,
            severity,
            description,
            _target_list,
            details,
        ) = fields
        parsed_raw: Mapping[str, Any] = (
            LazyRecord(raw_text, what, CORRUPT_FIX, loads) if lazy_raw else loads(raw_text)
        )
        parsed_category: Category = _member(_CATEGORY_BY_VALUE, category, "Category")
        parsed_outcome: Outcome = _member(_OUTCOME_BY_VALUE, outcome, "Outcome")
        if not isinstance(details, dict):
            raise ValueError("details are not a JSON object")
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be read: {exc}", fix=CORRUPT_FIX) from exc
    has_geo = (
        country is not None
        or country_code is not None
        or region is not None
        or city is not None
        or lat is not None
        or lon is not None
    )
    actor: Actor | None = None
    geo: Geo | None = None
    if shared is not None:
        actor_key = (actor_id, actor_name, actor_email, actor_type)
        actor = shared.get(actor_key)
        if actor is None:
            actor = shared[actor_key] = Actor(actor_id, actor_name, actor_email, actor_type)
        if has_geo:
            # type-tagged: 1 and 1.0 are equal keys, but a read gives back what was stored
            geo_key = (country, country_code, region, city, lat, lon, type(lat), type(lon))
            geo = shared.get(geo_key)
            if geo is None:
                geo = shared[geo_key] = Geo(country, country_code, region, city, lat, lon)
    else:
        actor = Actor(actor_id, actor_name, actor_email, actor_type)
        if has_geo:
            geo = Geo(country, country_code, region, city, lat, lon)
    # positional, in field order: keyword arguments cost more per call, and this is per row
    return Activity(
        from_micros(time),
        app,
        source_event_id,
        activity_type,
        parsed_category,
        action,
        parsed_outcome,
        actor,
        parsed_raw,
        instance_names.get(instance_id, ""),
        outcome_detail,
        outcome_reason,
        targets,
        src_ip,
        geo,
        asn,
        isp,
        user_agent,
        device,
        severity,
        description,
        details,
    )
