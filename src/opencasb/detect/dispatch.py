"""Which policies can match an activity of a given type and category: the engine's shortcut.

Most policies name the activity types (``activity_type in [...]``) or the category they are
about; testing every policy on every activity would cost the engine twice what normalizing
costs. :func:`allowed` reads, from a policy's filter, the set of values
of such a field it can possibly match (case-folded), or None when it does not say; the
:class:`Dispatch` table then hands each activity only the policies that could match it, in
the policies' own order (so findings come out in the same order either way).

Contract: a policy is never left out for an activity it matches: the set is a superset (a
filter it cannot read counts as "any type"), and the predicates still decide.
"""

from __future__ import annotations

from collections.abc import Sequence

from opencasb.detect.policy import Policy, Predicate
from opencasb.detect.shared import SharedFilter
from opencasb.filters import AllOf, AnyOf, Condition, Filter, Op

__all__ = ["Dispatch", "allowed"]

Types = frozenset[str] | None  # None: any type

_MEMO_LIMIT = 4096  # activity types come from vendor data: bound the table


def _both(a: Types, b: Types) -> Types:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _either(parts: Sequence[Types]) -> Types:
    out: set[str] = set()
    for p in parts:
        if p is None:
            return None
        out |= p
    return frozenset(out)


def _shared(flt: Filter, field: str) -> Types:
    if isinstance(flt, Condition):
        if flt.field != field:
            return None
        if flt.op is Op.EQUALS and isinstance(flt.value, str):
            return frozenset({flt.value.casefold()})
        if flt.op is Op.IN and isinstance(flt.value, tuple):
            return frozenset(str(v).casefold() for v in flt.value)
        return None
    if isinstance(flt, AllOf):
        out: Types = None
        for item in flt.items:
            out = _both(out, _shared(item, field))
        return out
    if isinstance(flt, AnyOf):
        return _either([_shared(item, field) for item in flt.items])
    return None  # Not: anything but...


def _predicate(p: Predicate | None, field: str) -> Types:
    if isinstance(p, SharedFilter):
        return _shared(p.tree, field)
    return None


def allowed(policy: Policy, field: str) -> Types:
    """The (case-folded) values of ``field`` (``activity_type``, ``category``) that ``policy``
    can match; None: it does not say."""
    return _predicate(policy.filter, field)


class Dispatch:
    """Policies by activity type and category, each list in the order ``policies`` has them."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self._policies = tuple(policies)
        self._allowed = [
            (allowed(p, "activity_type"), allowed(p, "category")) for p in self._policies
        ]
        self._table: dict[tuple[str, str], tuple[Policy, ...]] = {}

    def candidates(self, activity_type: str, category: str) -> tuple[Policy, ...]:
        """The policies that could match an activity of this type and category."""
        key = (activity_type, category)
        hit = self._table.get(key)
        if hit is not None:
            return hit
        t, c = activity_type.casefold(), category.casefold()
        found = tuple(
            p
            for p, (types, cats) in zip(self._policies, self._allowed, strict=True)
            if (types is None or t in types) and (cats is None or c in cats)
        )
        if len(self._table) < _MEMO_LIMIT:
            self._table[key] = found
        return found
