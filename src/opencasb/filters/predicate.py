"""A filter compiled to an in-memory predicate over one activity (and its enrichment).

The semantics are those of :mod:`opencasb.filters.fields` (case, several values) plus:

* A positive operator on a field that is not set is false; ``not_equals`` and ``not_in``
  are exactly the negation of ``equals`` and ``in``, so they are true there.
* ``enrich.*`` and ``ip_tags`` read the :class:`~opencasb.enrich.Enrichment` given with the
  activity; without one they are not set.
* Vendor data (``raw.*``, ``details.*``) compares by JSON type: ``equals: 5`` matches the
  number 5 (or 5.0), not the text ``"5"``; booleans match booleans only; ``contains``,
  ``starts_with``, ``ends_with`` and ``matches`` look at text values, ``gt``.. at numbers,
  ``cidr`` at text that is an address.
* ``matches`` is Python's ``re.search`` of the pattern (anchor it with ``^``/``$``); its flags
  go inside the pattern (``(?i)``).
* ``external_address: true`` matches when some text value holds an e-mail address
  (``smtp:`` prefix allowed; several may be separated by ``;``, ``,`` or spaces) whose
  domain is not the actor's own (the domain of ``actor.email``, else of ``actor.name``);
  domains compare without regard to case. ``false`` is its negation.
* ``cidr`` matches an address inside any of the networks. IPv4 addresses are compared in
  their IPv4-mapped IPv6 form, as the store indexes them, so ``::ffff:10.1.2.3`` is inside
  ``10.0.0.0/8``.

Predicates are closures built once per filter; evaluation does no parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opencasb.enrich.enricher import Enrichment
from opencasb.filters.ast import NEGATIVE, AllOf, AnyOf, Condition, Filter, Not, Op, Value
from opencasb.filters.fields import Case, FieldRef, Kind, ascii_fold, canonical_text, resolve
from opencasb.model.activity import Activity
from opencasb.store.ipkey import ip_key, ip_range
from opencasb.store.micros import to_micros

__all__ = ["Predicate", "compile_predicate", "needs_enrichment"]

Predicate = Callable[[Activity, Enrichment | None], bool]
"""``predicate(activity, enrichment_or_None) -> bool``."""

_Test = Callable[[Any], bool]


def _identity(text: str) -> str:
    return text


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same_json(v: Any, w: Any, fold: Callable[[str], str]) -> bool:
    if isinstance(w, bool):
        return isinstance(v, bool) and v == w
    if isinstance(w, str):
        return isinstance(v, str) and fold(v) == w
    return _number(v) and v == w


def _json_in(wants: list[Any], fold: Callable[[str], str]) -> _Test:
    """``any(_same_json(v, w, fold) for w in wants)``, with the texts in a set: a policy
    lists dozens of values (ransomware extensions) and meets thousands of activities."""
    texts = frozenset(w for w in wants if isinstance(w, str))
    flags = tuple(w for w in wants if isinstance(w, bool))
    numbers = tuple(w for w in wants if not isinstance(w, str | bool))

    def test(v: Any) -> bool:
        if isinstance(v, str):
            return fold(v) in texts
        if isinstance(v, bool):
            return v in flags
        return _number(v) and any(v == w for w in numbers)

    return test


def _cidr_test(networks: tuple[Any, ...]) -> _Test:
    bounds = [ip_range(str(n)) for n in networks]

    def test(v: Any) -> bool:
        key = ip_key(v) if isinstance(v, str) else None
        return key is not None and any(low <= key <= high for low, high in bounds)

    return test


def _order_test(op: Op, w: Any, time: bool) -> _Test:
    if time:
        assert isinstance(w, datetime)
        wm = to_micros(w)

        def key(v: Any) -> Any:
            return to_micros(v) if isinstance(v, datetime) else None

        w = wm
    else:

        def key(v: Any) -> Any:
            return v if _number(v) else None

    if op is Op.GT:
        return lambda v: (k := key(v)) is not None and k > w
    if op is Op.GTE:
        return lambda v: (k := key(v)) is not None and k >= w
    if op is Op.LT:
        return lambda v: (k := key(v)) is not None and k < w
    if op is Op.LTE:
        return lambda v: (k := key(v)) is not None and k <= w
    # equals on a time
    return lambda v: (k := key(v)) is not None and k == w


def _value_test(ref: FieldRef, op: Op, value: Value, ignore_case: bool) -> _Test:
    """A test of one (set, canonical) value of the field for a positive operator."""
    kind = ref.spec.kind
    fold = ascii_fold if ignore_case else _identity
    if op is Op.CIDR:
        assert isinstance(value, tuple)
        return _cidr_test(value)
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE) or kind is Kind.TIME:
        return _order_test(op, value, kind is Kind.TIME)
    if op is Op.MATCHES:
        search = re.compile(str(value)).search
        return lambda v: isinstance(v, str) and search(v) is not None
    values = value if isinstance(value, tuple) else (value,)
    if kind is Kind.ANY:
        wants = [fold(w) if isinstance(w, str) else w for w in values]
        if op is Op.CONTAINS:
            part = str(wants[0])
            return lambda v: isinstance(v, str) and part in fold(v)
        if op is Op.STARTS_WITH:
            head = str(wants[0])
            return lambda v: isinstance(v, str) and fold(v).startswith(head)
        if op is Op.ENDS_WITH:
            tail = str(wants[0])
            return lambda v: isinstance(v, str) and fold(v).endswith(tail)
        return _json_in(wants, fold)
    if kind in (Kind.TEXT, Kind.IP):
        case = ref.spec.case
        canon = [canonical_text(case, str(w)) for w in values]
        texts = [fold(c) for c in canon if c is not None]
        if op is Op.CONTAINS:
            if not texts:
                return lambda v: False
            t = texts[0]
            return lambda v: t in fold(v)
        if op is Op.STARTS_WITH:
            if not texts:
                return lambda v: False
            t = texts[0]
            return lambda v: fold(v).startswith(t)
        if op is Op.ENDS_WITH:
            if not texts:
                return lambda v: False
            t = texts[0]
            return lambda v: fold(v).endswith(t)
        wanted = frozenset(texts)
        return lambda v: fold(v) in wanted
    # numbers and booleans: equals / in
    if kind is Kind.BOOL:
        return lambda v: v in values and isinstance(v, bool)
    return lambda v: _number(v) and any(v == w for w in values)


_SEPARATORS = re.compile(r"[;,\s]+")


def _domains(text: str) -> list[str]:
    """The (case-folded) domains of the e-mail addresses in ``text``."""
    out = []
    for part in _SEPARATORS.split(text.casefold()):
        user, at, domain = part.removeprefix("smtp:").rpartition("@")
        if at and user and domain:
            out.append(domain.strip("<>[]\"'"))
    return out


def _external(
    get: Callable[[Activity, Enrichment | None], Any], multi: bool, want: bool
) -> Predicate:
    def test(a: Activity, e: Enrichment | None) -> bool:
        found = get(a, e)
        values = found if multi else [found]
        own = _domains(a.actor.email or "") or _domains(a.actor.name or "")
        hit = any(d not in own for v in values if isinstance(v, str) for d in _domains(v))
        return hit is want

    return test


def _condition(c: Condition) -> Predicate:
    ref = resolve(c.field)
    spec = ref.spec
    get = spec.get
    negate = c.op in NEGATIVE
    op = NEGATIVE.get(c.op, c.op)
    case = spec.case
    if op is Op.EXTERNAL_ADDRESS:
        return _external(get, spec.multi, bool(c.value))
    if op is Op.IS_SET:
        want = bool(c.value)
        if spec.multi:
            return lambda a, e: bool(get(a, e)) is want
        if case is Case.EXACT:
            return lambda a, e: (get(a, e) is not None) is want
        return lambda a, e: (canonical_text(case, get(a, e)) is not None) is want
    positive = _positive(ref, op, c.value, c.ignore_case)
    if negate:
        return lambda a, e: not positive(a, e)
    return positive


def _positive(ref: FieldRef, op: Op, value: Value, ignore_case: bool) -> Predicate:
    """The positive operator ``op`` on the field, as flat as it goes: each layer of closure
    is paid on every evaluation (a policy engine evaluates many thousands)."""
    spec = ref.spec
    get = spec.get
    case = spec.case
    if spec.kind is Kind.TEXT and op in (Op.EQUALS, Op.IN) and case is Case.EXACT:
        # the common case (activity_type in [...], outcome equals ...): one set lookup
        values = value if isinstance(value, tuple) else (value,)
        if ignore_case:
            folded = frozenset(ascii_fold(str(w)) for w in values)
            if spec.multi:
                return lambda a, e: any(ascii_fold(v) in folded for v in get(a, e))
            return lambda a, e: (v := get(a, e)) is not None and ascii_fold(v) in folded
        wanted = frozenset(str(w) for w in values)
        if spec.multi:
            return lambda a, e: any(v in wanted for v in get(a, e))
        return lambda a, e: get(a, e) in wanted  # None is not in it
    test = _value_test(ref, op, value, ignore_case)
    if spec.multi:
        return lambda a, e: any(test(v) for v in get(a, e))
    if case is Case.EXACT:
        return lambda a, e: (v := get(a, e)) is not None and test(v)
    return lambda a, e: (v := canonical_text(case, get(a, e))) is not None and test(v)


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda a, e: first(a, e) and second(a, e)

    def every(a: Activity, e: Enrichment | None) -> bool:
        for p in parts:  # noqa: SIM110 - all(generator) makes a generator per call
            if not p(a, e):
                return False
        return True

    return every


def _any(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda a, e: first(a, e) or second(a, e)

    def some(a: Activity, e: Enrichment | None) -> bool:
        for p in parts:  # noqa: SIM110 - any(generator) makes a generator per call
            if p(a, e):
                return True
        return False

    return some


def compile_predicate(flt: Filter) -> Predicate:
    """``flt`` as a function of an activity and its enrichment (None: not enriched).

    ``flt`` must be valid (from :func:`~opencasb.filters.parse_filter` or
    :func:`~opencasb.filters.check`).
    """
    if isinstance(flt, Condition):
        return _condition(flt)
    if isinstance(flt, Not):
        inner = compile_predicate(flt.item)
        return lambda a, e: not inner(a, e)
    parts = [compile_predicate(f) for f in flt.items]
    if isinstance(flt, AllOf):
        return _all(parts) if parts else lambda a, e: True
    assert isinstance(flt, AnyOf)
    return _any(parts) if parts else lambda a, e: False


def needs_enrichment(flt: Filter) -> bool:
    """Whether ``flt`` reads ``enrich.*`` or ``ip_tags``."""
    if isinstance(flt, Condition):
        return resolve(flt.field).spec.enrichment
    if isinstance(flt, Not):
        return needs_enrichment(flt.item)
    return any(needs_enrichment(f) for f in flt.items)
