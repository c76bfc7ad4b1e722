"""The filter language's syntax tree: frozen dataclasses, built by :mod:`.document`.

A filter is a :class:`Condition` on one field or a combination of filters (:class:`AllOf`,
:class:`AnyOf`, :class:`Not`). Trees are values: equal trees compare equal, hash alike and
serialise to the same document, so policies can use them as keys and tests can compare a
round trip. Build them from documents (:func:`opencasb.filters.parse_filter`) or directly;
either way, :func:`opencasb.filters.check` (or the compilers) validate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "NEGATIVE",
    "STRING_OPS",
    "AllOf",
    "AnyOf",
    "Condition",
    "Filter",
    "Not",
    "Op",
    "Scalar",
    "Value",
]


class Op(StrEnum):
    """A condition's operator; the value is also the key that spells it in a document."""

    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"  # a regular expression (Python's re), found anywhere in the text
    IS_SET = "is_set"  # value True: is set; False: is not set
    CIDR = "cidr"  # value: a tuple of networks (any of them)
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    # value True: some value is an e-mail address (``smtp:`` prefix allowed) whose domain is
    # not the actor's own; False: none is. Evaluated in memory only (see .sql).
    EXTERNAL_ADDRESS = "external_address"


NEGATIVE: dict[Op, Op] = {Op.NOT_EQUALS: Op.EQUALS, Op.NOT_IN: Op.IN}
"""Each negative operator and the positive one it is exactly the negation of (a missing
field therefore matches ``not_equals``/``not_in``)."""

STRING_OPS = frozenset(
    {Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH}
)
"""The operators that compare text and so accept ``ignore_case`` (``matches`` takes its
flags inside the pattern instead: ``(?i)``)."""

Scalar = str | int | float | bool | datetime
Value = Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """``field`` ``op`` ``value``: e.g. ``Condition("actor.email", Op.EQUALS, "ann@x.org")``.

    ``value`` is a tuple for ``in``/``not_in``/``cidr``, a bool for ``is_set`` and
    ``external_address``, an aware UTC
    datetime for time comparisons. ``ignore_case`` folds ASCII letters only (see
    :mod:`opencasb.filters.fields` for why), on both sides, for the string operators.
    """

    field: str
    op: Op
    value: Value
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every item matches (AND). No items: matches everything."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one item matches (OR). No items: matches nothing."""

    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not match."""

    item: Filter


Filter = Condition | AllOf | AnyOf | Not
