"""A filter compiled to a SQLAlchemy Core WHERE clause over ``activities`` (SQLite and
PostgreSQL), plus the residual predicate for what SQL cannot see.

:func:`compile_sql` returns :class:`Compiled`: ``where``, a clause for the store's query, and
``residual``, the in-memory predicate still to apply to the rows ``where`` selects (None when
``where`` is exact). Together they select exactly what
:func:`~opencasb.filters.compile_predicate` accepts; :mod:`opencasb.filters.search` runs them.

How: every node compiles to two clauses, an upper bound (every matching row satisfies it)
and a lower bound (every row satisfying it matches). A condition SQL can evaluate exactly
gives the same clause twice; one it cannot (vendor data, targets, enrichment, fields the
store keeps only in a compressed body) gives TRUE and FALSE. AND and OR combine the bounds
pointwise and NOT swaps them, so the final upper bound is a correct ``where`` for any tree,
and the residual (the whole predicate) decides the rest.

That requires two-valued SQL: each condition is written so that it is never NULL
(``col IS NOT NULL AND col = :v``), or else ``NOT`` of a NULL would drop rows SQL must keep.

Case rules (see :mod:`opencasb.filters.fields`): the e-mail and country code columns hold
the canonical case already, so the filter's value is put into it here; ``ignore_case`` is
``lower()`` on SQLite (ASCII only without ICU, which Python's sqlite3 does not load) and
``translate()`` of A-Z on PostgreSQL, whose ``lower()`` would follow the locale. Substring
tests use ``instr``/``strpos``, not LIKE: SQLite's LIKE ignores ASCII case and both need
their wildcards escaped. Both compare code points exactly (PostgreSQL's default collations
are deterministic, so ``=`` is byte equality).

The columns used are looked up in the live table definition, so a field that moves from a
column into the compressed body falls back to the residual by itself.

Enrichment is read as stored at ingest (see :mod:`opencasb.store.enrich_codec`):
``enrich.country_code`` is the indexed ``enrich_cc`` column; the other ``enrich.*`` fields
are columns of the interned ``enrichments`` rows (``enrich_ref IN (SELECT id FROM
enrichments WHERE ...)``); an activity stored without enrichment has none of these fields
set, as the predicate has with no enrichment.

``ip_tags`` is LIVE, not stored: a condition on it is a
:class:`~opencasb.store.iptag_spans.LiveTags`, "a tag satisfying the condition has a merged
span (``ip_tag_spans``, rewritten with every change of the ranges) holding the activity's
``ip_key``", so a search reflects the ranges as they are when it runs, with no ``enrich
--all`` after the user changes them (the ``activities.ip_tags`` column, the enrichment as
computed at ingest, is not read by searches: it goes stale when the ranges change). The
activity query resolves it on its connection just before running (no tag: FALSE; a sparse
tag: the ids of its activities; a dense one: a one-seek span probe per row); unresolved,
it renders a probe per tag for ``equals``/``in`` and a scan of the matching tags' spans
below the address otherwise. Stored tags are lower-case ``[a-z0-9_]``, so ``ignore_case``
folds the value only, ``ends_with`` is an escaped LIKE, and the Python test the resolver
applies to tag names agrees with the SQL; ``matches`` is left to the residual, which
:mod:`opencasb.filters.search` gives the current tags too. The predicate agrees when its
enrichment's ``ip_tags`` come from the same ranges (detection's enricher reloads them when
the tag-set version moves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    LargeBinary,
    Text,
    and_,
    false,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from opencasb.errors import ConfigError
from opencasb.filters.ast import NEGATIVE, AllOf, AnyOf, Condition, Filter, Not, Op, Value
from opencasb.filters.fields import Case, FieldRef, Kind, ascii_fold, canonical_text, resolve
from opencasb.filters.predicate import Predicate, compile_predicate, needs_enrichment
from opencasb.store.ipkey import ip_range
from opencasb.store.iptag_spans import LiveTags, fallback, probe
from opencasb.store.micros import to_micros
from opencasb.store.schema import activities, actors, enrichments, instances

__all__ = ["Compiled", "compile_sql"]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A filter for the store: rows satisfying ``where`` and then ``residual`` (if any).

    ``needs_enrichment``: ``residual`` reads the enrichment (give it one per activity);
    ``live_tags``: it reads ``ip_tags`` too, which must be the current ones (from the stored
    ranges, not the stored enrichment), as SQL's are.
    """

    where: ColumnElement[bool]
    residual: Predicate | None
    needs_enrichment: bool = False
    live_tags: bool = False


class _AsciiLower(FunctionElement[str]):
    """Lower-case the ASCII letters only, identically on both engines."""

    name = "opencasb_ascii_lower"
    inherit_cache = True
    type = Text()


class _StrPos(FunctionElement[int]):
    """1-based position of the first occurrence of the second text in the first, 0 if none."""

    name = "opencasb_strpos"
    inherit_cache = True
    type = Integer()


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@compiles(_AsciiLower, "sqlite")
def _ascii_lower_sqlite(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower)
def _ascii_lower_default(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    args = compiler.process(element.clauses, **kw)
    return f"translate({args}, '{_UPPER}', '{_UPPER.lower()}')"


@compiles(_StrPos, "sqlite")
def _strpos_sqlite(element: _StrPos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_StrPos)
def _strpos_default(element: _StrPos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True, slots=True)
class _Bounds:
    upper: ColumnElement[bool]
    lower: ColumnElement[bool]
    exact: bool


_UNKNOWN = _Bounds(true(), false(), False)

# Fields stored as a plain column of ``activities`` (when the table still has it). Not
# ``category``: its column (migration 0016, for detection) is NULL on the rows stored
# before it, so only the body (the residual) knows theirs.
_COLUMNS: dict[str, str] = {
    "app": "app",
    "source_event_id": "source_event_id",
    "activity_type": "activity_type",
    "action": "action",
    "outcome": "outcome",
    "outcome_detail": "outcome_detail",
    "outcome_reason": "outcome_reason",
    "actor.id": "actor_id",
    "actor.name": "actor_name",
    "actor.email": "actor_email",
    "actor.type": "actor_type",
    "src_ip": "src_ip",
    "geo.country": "country",
    "geo.country_code": "country_code",
    "geo.region": "region",
    "geo.city": "city",
    "geo.lat": "lat",
    "geo.lon": "lon",
    "asn": "asn",
    "isp": "isp",
    "user_agent": "user_agent",
    "device": "device",
    "severity": "severity",
    "description": "description",
}


def _text(
    col: ColumnElement[Any], case: Case, op: Op, value: Value, ignore_case: bool
) -> ColumnElement[bool]:
    """The positive ``op`` on a text column holding canonical values (two-valued)."""
    fold = ascii_fold if ignore_case else str
    target: ColumnElement[Any] = _AsciiLower(col) if ignore_case else col
    given = value if isinstance(value, tuple) else (value,)
    texts = [fold(c) for v in given if (c := canonical_text(case, str(v))) is not None]
    if not texts:
        return false()  # only "" of a field where empty means unset: nothing equals it
    if op is Op.EQUALS:
        cond = target == texts[0]
    elif op is Op.IN:
        cond = target.in_(texts)
    elif op is Op.CONTAINS:
        cond = _StrPos(target, texts[0]) > 0
    elif op is Op.STARTS_WITH:
        cond = _StrPos(target, texts[0]) == 1
    else:
        raise AssertionError(op)
    return and_(col.isnot(None), cond)


def _ordered(col: ColumnElement[Any], op: Op, value: Value) -> ColumnElement[bool]:
    """equals / in / gt.. on a number or time column (two-valued)."""
    if op is Op.EQUALS:
        cond = col == value
    elif op is Op.IN:
        cond = col.in_(list(value) if isinstance(value, tuple) else [value])
    elif op is Op.GT:
        cond = col > value
    elif op is Op.GTE:
        cond = col >= value
    elif op is Op.LT:
        cond = col < value
    elif op is Op.LTE:
        cond = col <= value
    else:
        raise AssertionError(op)
    return and_(col.isnot(None), cond)


def _cidr(value: Value) -> ColumnElement[bool]:
    key = activities.c.ip_key
    as_bytes = isinstance(key.type, LargeBinary)
    parts: list[ColumnElement[bool]] = []
    for network in value if isinstance(value, tuple) else (value,):
        low, high = ip_range(str(network))
        lo: Any = bytes.fromhex(low) if as_bytes else low
        hi: Any = bytes.fromhex(high) if as_bytes else high
        parts.append(key == lo if lo == hi else key.between(lo, hi))
    return and_(key.isnot(None), or_(*parts))


def _positive(ref: FieldRef, op: Op, value: Value, ignore_case: bool) -> ColumnElement[bool] | None:
    """The positive condition in SQL, exact, or None when SQL cannot evaluate it."""
    if op in (Op.ENDS_WITH, Op.MATCHES, Op.EXTERNAL_ADDRESS):
        # Left to the residual: the engines' suffix and regex functions differ (SQLite has
        # no REGEXP), and Sigma rules, their main users, are evaluated in memory anyway;
        # external_address compares with the actor's own domain, which SQL does not parse.
        return None
    spec = ref.spec
    name = spec.name
    cols = activities.c
    if name == "instance":
        if op is Op.IS_SET:
            return true()  # every stored activity belongs to an instance
        names = select(instances.c.id).where(
            _text(instances.c.name, Case.EXACT, op, value, ignore_case)
        )
        return cols.instance_id.in_(names)
    if name == "time":
        if op is Op.IS_SET:
            return true()
        values = value if isinstance(value, tuple) else (value,)
        micros = tuple(to_micros(v) for v in values if isinstance(v, datetime))
        return _ordered(
            type_coerce(cols.time, BigInteger), op, micros if op is Op.IN else micros[0]
        )
    if name == "src_ip" and op is Op.CIDR:
        return _cidr(value) if "ip_key" in cols else None
    column = _COLUMNS.get(name)
    if column is not None and column in cols:
        col = cols[column]
        if op is Op.IS_SET:
            return col.isnot(None)
        if spec.kind in (Kind.TEXT, Kind.IP):
            return _text(col, spec.case, op, value, ignore_case)
        return _ordered(col, op, value)
    if name == "actor.email" and "actor_ref" in cols:
        # The compact layout keeps the e-mail, lower-cased, in the interned actors only.
        inner: ColumnElement[bool] = actors.c.email.isnot(None)
        if op is not Op.IS_SET:
            inner = _text(actors.c.email, spec.case, op, value, ignore_case)
        ref_col = cols.actor_ref
        return and_(ref_col.isnot(None), ref_col.in_(select(actors.c.id).where(inner)))
    return None


_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _tags(op: Op, value: Value, ignore_case: bool) -> ColumnElement[bool] | None:
    """The positive ``op`` on the activity's CURRENT tags: a span of a tag that satisfies
    ``op`` holds its address (see the module docstring); None for ``matches``."""
    if op is Op.MATCHES:
        return None
    if op is Op.IS_SET:
        return LiveTags(fallback(lambda tag: true()), lambda tag: True)
    fold = ascii_fold if ignore_case else str
    given = [fold(str(v)) for v in (value if isinstance(value, tuple) else (value,))]
    if op is Op.ENDS_WITH:
        given = [t for t in given if set(t) <= _TAG_CHARS]  # no tag holds another character
    if not given:
        return false()
    # Stored tags are lower-case [a-z0-9_], so the Python test and the SQL agree exactly.
    if op in (Op.EQUALS, Op.IN):
        return LiveTags(or_(*(probe(t) for t in given)), lambda tag: tag in given)
    if op not in (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH):
        return None
    return LiveTags(
        fallback(lambda col: or_(*(_tag_sql(op, col, t) for t in given))),
        lambda tag: any(_tag_test(op, tag, t) for t in given),
    )


def _tag_sql(op: Op, col: ColumnElement[str], t: str) -> ColumnElement[bool]:
    """SQL: the stored tag ``col`` satisfies ``op`` with the value ``t``."""
    if op is Op.CONTAINS:
        return _StrPos(col, t) > 0
    if op is Op.STARTS_WITH:
        return _StrPos(col, t) == 1
    # LIKE ignores ASCII case on SQLite: harmless, both sides are lower-case here
    return col.like(literal("%") + t.replace("_", "\\_"), escape="\\")


def _tag_test(op: Op, tag: str, t: str) -> bool:
    """:func:`_tag_sql` in Python."""
    if op is Op.CONTAINS:
        return t in tag
    if op is Op.STARTS_WITH:
        return tag.startswith(t)
    return tag.endswith(t)


def _bools(value: Value) -> list[bool]:
    """The booleans a BOOL field's value equals (the predicate compares with ``==``)."""
    given = value if isinstance(value, tuple) else (value,)
    return [b for b in (True, False) if any(w == b and not isinstance(w, str) for w in given)]


def _stored_enrichment(
    ref: FieldRef, op: Op, value: Value, ignore_case: bool
) -> ColumnElement[bool] | None:
    """The positive condition on a stored enrichment field, or None (left to the residual)."""
    spec = ref.spec
    cols = activities.c
    if spec.name == "ip_tags":
        return _tags(op, value, ignore_case) if "ip_key" in cols else None
    if op in (Op.ENDS_WITH, Op.MATCHES, Op.CIDR, Op.EXTERNAL_ADDRESS):
        return None
    field = spec.name.removeprefix("enrich.")
    if field == "country_code" and "enrich_cc" in cols:
        col = cols.enrich_cc
        return col.isnot(None) if op is Op.IS_SET else _text(col, spec.case, op, value, ignore_case)
    if "enrich_ref" not in cols or field not in enrichments.c:
        return None
    stored = enrichments.c[field]
    inner: ColumnElement[bool]
    if op is Op.IS_SET:
        inner = stored.isnot(None)
    elif spec.kind is Kind.TEXT:
        inner = _text(stored, spec.case, op, value, ignore_case)
    elif spec.kind is Kind.BOOL:
        if op not in (Op.EQUALS, Op.IN):
            return None
        bools = _bools(value)
        inner = and_(stored.isnot(None), stored.in_(bools)) if bools else false()
    else:
        inner = _ordered(stored, op, value)
    ref_col = cols.enrich_ref
    return and_(ref_col.isnot(None), ref_col.in_(select(enrichments.c.id).where(inner)))


def _not_stored(name: str) -> ConfigError:
    return ConfigError(
        f"the filter field {name!r} cannot be searched with this operator in SQL",
        meaning="ends_with, matches and external_address on enrichment are evaluated on "
        "each row's stored enrichment after the SQL part.",
        fix="Search with residual_enrichment=True (opencasb.filters.search does).",
        code="filter_field_not_stored",
    )


def _leaf(c: Condition, residual_enrichment: bool) -> _Bounds:
    ref = resolve(c.field)
    spec = ref.spec
    op = NEGATIVE.get(c.op, c.op)
    if spec.enrichment:
        cond = _stored_enrichment(ref, op, c.value, c.ignore_case)
        if cond is None:
            if not residual_enrichment:
                raise _not_stored(c.field)
            return _UNKNOWN
    else:
        if spec.multi or spec.kind is Kind.ANY:
            return _UNKNOWN  # targets and vendor data: JSON or compressed, left to the residual
        cond = _positive(ref, op, c.value, c.ignore_case)
        if cond is None:
            return _UNKNOWN
    if c.op in NEGATIVE or (op is Op.IS_SET and c.value is False):
        cond = not_(cond)
    return _Bounds(cond, cond, True)


def _bounds(flt: Filter, residual_enrichment: bool) -> _Bounds:
    if isinstance(flt, Condition):
        return _leaf(flt, residual_enrichment)
    if isinstance(flt, Not):
        inner = _bounds(flt.item, residual_enrichment)
        return _Bounds(not_(inner.lower), not_(inner.upper), inner.exact)
    parts = [_bounds(f, residual_enrichment) for f in flt.items]
    exact = all(p.exact for p in parts)
    if isinstance(flt, AllOf):
        return _Bounds(
            and_(true(), *(p.upper for p in parts)), and_(true(), *(p.lower for p in parts)), exact
        )
    assert isinstance(flt, AnyOf)
    return _Bounds(
        or_(false(), *(p.upper for p in parts)), or_(false(), *(p.lower for p in parts)), exact
    )


def compile_sql(flt: Filter, *, residual_enrichment: bool = False) -> Compiled:
    """``flt`` for the store's ``activities`` table, on SQLite or PostgreSQL.

    ``flt`` must be valid (from :func:`~opencasb.filters.parse_filter` or
    :func:`~opencasb.filters.check`).

    Args:
        residual_enrichment: leave ``enrich.*``/``ip_tags`` conditions SQL cannot evaluate
            (``ends_with``, ``matches``, ``external_address``) to the residual (the caller
            gives each row its stored enrichment) instead of refusing them.

    Raises:
        ConfigError: (code ``filter_field_not_stored``) such a condition, and
            ``residual_enrichment`` is False.
    """
    b = _bounds(flt, residual_enrichment)
    residual = None if b.exact else compile_predicate(flt)
    enriched = residual is not None and needs_enrichment(flt)
    return Compiled(b.upper, residual, enriched, enriched and _reads_tags(flt))


def _reads_tags(flt: Filter) -> bool:
    if isinstance(flt, Condition):
        return resolve(flt.field).spec.name == "ip_tags"
    if isinstance(flt, Not):
        return _reads_tags(flt.item)
    return any(_reads_tags(f) for f in flt.items)
