"""A Sigma rule's detection (after the field-mapping pipeline) as a filter-language tree.

pySigma resolves the condition (``and``/``or``/``not``, ``1 of selection_*``, ``all of
them``) and the detection items (value lists OR-linked, ``|all`` AND-linked, ``|neq``
negated) into a tree of AND/OR/NOT over ``field = value`` leaves, the values typed by their
modifiers; this module turns each leaf into :class:`~opencasb.filters.Condition`\\s.

Value semantics (Sigma's, in the filter language's terms):

* Text compares without regard to case (ASCII letters, the filter language's
  ``ignore_case``) unless ``|cased``; ``*`` and ``?`` are wildcards: ``*x*`` is
  ``contains``, ``x*`` ``starts_with``, ``*x`` ``ends_with``, a lone ``*`` "is set", any
  other pattern an anchored regular expression (``matches``).
* Vendor data (``raw.*``, ``details.*``) keeps JSON types, while Sigma writes ``'true'`` and
  ``5`` for what a record may hold as a boolean, a number or text: such a value matches any of
  those forms.
* ``null`` is "is not set", ``|exists`` "is set"; ``|re`` (with ``|i``, ``|m``, ``|s``) is
  Python's ``re.search``; ``|cidr`` is ``cidr``; ``|gt``.. compare numbers.

What cannot be evaluated is collected as a reason (:attr:`Converter.problems`), never
dropped: keyword searches, unknown fields, and the modifiers in :data:`UNSUPPORTED_MODIFIERS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.modifiers import SigmaModifier, modifier_mapping
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from opencasb.detect.sigma.fields import EVENT_NAME, UNKNOWN_PREFIX
from opencasb.filters import AllOf, AnyOf, Condition, Filter, Not, Op
from opencasb.filters.ast import Scalar
from opencasb.filters.fields import Kind, resolve

__all__ = ["UNSUPPORTED_MODIFIERS", "Converter"]

_ENCODING = (
    "encodes the value for binary or command-line data (Windows process logs); Okta and "
    "Microsoft 365 records hold plain text, so the rule was written for another log source"
)
UNSUPPORTED_MODIFIERS: Final[dict[str, str]] = {
    "base64": _ENCODING,
    "base64offset": _ENCODING,
    "wide": _ENCODING,
    "utf16": _ENCODING,
    "utf16be": _ENCODING,
    "windash": _ENCODING,
    "fieldref": "it compares two fields of one event; OpenCASB's filter language compares a "
    "field with values",
    "expand": "its placeholders need values from a processing pipeline that OpenCASB does "
    "not define",
    **{
        unit: "it compares a part of the event time; OpenCASB's filter language compares "
        "whole times"
        for unit in ("minute", "hour", "day", "week", "month", "year")
    },
}
"""Sigma modifiers OpenCASB does not evaluate, and why."""

_NAMES: Final[dict[type[SigmaModifier[Any, Any]], str]] = {}
for _name, _cls in modifier_mapping.items():
    _NAMES.setdefault(_cls, _name)

_TRUE_FALSE: Final = {"true": True, "false": False}
_OUTCOMES: Final = {
    "success": "success",
    "succeeded": "success",
    "true": "success",
    "failure": "failure",
    "failed": "failure",
    "false": "failure",
    "unknown": "unknown",
}
_COMPARE: Final = {
    CompareOperators.GT: Op.GT,
    CompareOperators.GTE: Op.GTE,
    CompareOperators.LT: Op.LT,
    CompareOperators.LTE: Op.LTE,
}
_REGEX_FLAGS: Final = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}

_Tree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression | None


class _Skip(Exception):
    """A leaf that cannot be converted (its reason is already in the problems)."""


def _items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _items(item)
        else:
            yield item


class Converter:
    """Converts one rule; :attr:`problems` lists every reason it cannot be evaluated, each
    once, in the order found."""

    def __init__(self, logsource: str) -> None:
        self._logsource = logsource
        self.problems: list[str] = []

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def modifiers(self, rule: SigmaRule) -> None:
        """Record the rule's unsupported modifiers (before conversion: some leave no trace in
        the values, such as ``|base64``, whose value is still text)."""
        for detection in rule.detection.detections.values():
            for item in _items(detection):
                for mod in item.modifiers:
                    name = _NAMES.get(mod, mod.__name__)
                    reason = UNSUPPORTED_MODIFIERS.get(name)
                    if reason is not None:
                        field = item.field or "(keyword)"
                        original = field.removeprefix(UNKNOWN_PREFIX)
                        self._problem(f"unsupported modifier |{name} on {original}: {reason}")

    def condition(self, tree: _Tree) -> Filter | None:
        """The filter of a parsed, postprocessed condition; None when something in it cannot
        be converted (see :attr:`problems`)."""
        try:
            return self._node(tree)
        except _Skip:
            return None

    def _node(self, tree: _Tree) -> Filter:
        if tree is None:
            self._problem("the detection is empty")
            raise _Skip
        if isinstance(tree, ConditionNOT):
            return Not(self._node(tree.args[0]))
        if isinstance(tree, ConditionAND | ConditionOR):
            parts: list[Filter] = []
            failed = False
            for arg in tree.args:
                try:
                    parts.append(self._node(arg))
                except _Skip:
                    failed = True  # go on: report the other parts' problems too
            if failed:
                raise _Skip
            return AllOf(tuple(parts)) if isinstance(tree, ConditionAND) else AnyOf(tuple(parts))
        if isinstance(tree, ConditionValueExpression):
            self._problem(
                f"keyword search for {tree.value!s}: a value without a field is not "
                "supported; name the field it is in"
            )
            raise _Skip
        if isinstance(tree, ConditionFieldEqualsValueExpression):
            return self._leaf(tree.field, tree.value)
        self._problem(f"unsupported condition element {type(tree).__name__}")
        raise _Skip

    # ------------------------------------------------------------------ leaves

    def _leaf(self, field: str, value: SigmaType) -> Filter:
        if field.startswith(UNKNOWN_PREFIX):
            self._problem(
                f"unknown field {field.removeprefix(UNKNOWN_PREFIX)!r} for logsource "
                f"{self._logsource}"
            )
            raise _Skip
        if field == EVENT_NAME:
            alert = AllOf(
                (
                    Condition("raw.Workload", Op.EQUALS, "SecurityComplianceCenter", True),
                    self._leaf("raw.Name", value),
                )
            )
            return AnyOf((self._leaf("activity_type", value), alert))
        kind = resolve(field).spec.kind
        if isinstance(value, SigmaNull):
            return Condition(field, Op.IS_SET, False)
        if isinstance(value, SigmaExists):
            return Condition(field, Op.IS_SET, bool(value.exists))
        if isinstance(value, SigmaCIDRExpression):
            if kind not in (Kind.IP, Kind.ANY):
                self._problem(f"|cidr on {field}, which is not an address")
                raise _Skip
            return Condition(field, Op.CIDR, (str(value.network),))
        if isinstance(value, SigmaCompareExpression):
            return self._compare(field, kind, value)
        if isinstance(value, SigmaRegularExpression):
            flags = "".join(sorted(_REGEX_FLAGS[f] for f in value.flags))
            regexp = str(value.regexp)
            pattern = f"(?{flags}){regexp}" if flags else regexp
            try:
                re.compile(pattern)
            except re.error as exc:
                self._problem(f"|re on {field}: {regexp!r} is not a regular expression ({exc})")
                raise _Skip from None
            return Condition(field, Op.MATCHES, pattern)
        if isinstance(value, SigmaBool):
            return self._scalar(field, kind, bool(value.boolean), str(value.boolean).lower())
        if isinstance(value, SigmaNumber):
            return self._scalar(field, kind, value.number, str(value.number))
        if isinstance(value, SigmaString):
            return self._string(field, kind, value)
        # Field references, expansions, timestamp parts: their modifier was reported.
        if not self.problems:
            self._problem(f"unsupported value {value!r} for {field}")
        raise _Skip

    def _compare(self, field: str, kind: Kind, value: SigmaCompareExpression) -> Filter:
        if kind not in (Kind.INT, Kind.FLOAT, Kind.ANY):
            self._problem(f"a numeric comparison on {field}, which holds text")
            raise _Skip
        number = value.number.number
        if value.op is CompareOperators.NEQ:
            return Condition(field, Op.NOT_EQUALS, number)
        return Condition(field, _COMPARE[value.op], number)

    def _scalar(self, field: str, kind: Kind, typed: Scalar, text: str) -> Filter:
        """A number or boolean written in the rule: its JSON form or its text."""
        if kind is Kind.ANY:
            return AnyOf(
                (Condition(field, Op.EQUALS, typed), Condition(field, Op.EQUALS, text, True))
            )
        if kind in (Kind.INT, Kind.FLOAT, Kind.BOOL):
            return Condition(field, Op.EQUALS, typed)
        return self._text(field, Op.EQUALS, text, True)

    def _text(self, field: str, op: Op, text: str, ignore_case: bool) -> Filter:
        if field == "outcome" and op is Op.EQUALS:  # Microsoft 365 'status'
            outcome = _OUTCOMES.get(text.casefold())
            if outcome is not None:
                return Condition("outcome", Op.EQUALS, outcome)
            return Condition("outcome_detail", Op.EQUALS, text, ignore_case)
        if field == "outcome":
            field = "outcome_detail"
        return Condition(field, op, text, ignore_case)

    def _string(self, field: str, kind: Kind, value: SigmaString) -> Filter:
        fold = not isinstance(value, SigmaCasedString)
        parts = list(value.iter_parts())
        if any(isinstance(p, Placeholder) for p in parts):
            self._problem(f"placeholder in the value of {field}: placeholders are not defined")
            raise _Skip
        many, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
        if parts == [many]:
            return Condition(field, Op.IS_SET, True)
        inner = parts[1:-1] if len(parts) > 2 else []
        plain_inner = all(isinstance(p, str) for p in inner)
        if not value.contains_special():
            text = "".join(str(p) for p in parts)
            if kind is Kind.ANY:
                alts: list[Filter] = [Condition(field, Op.EQUALS, text, fold)]
                if text.casefold() in _TRUE_FALSE:
                    alts.append(Condition(field, Op.EQUALS, _TRUE_FALSE[text.casefold()]))
                number = _number(text)
                if number is not None:
                    alts.append(Condition(field, Op.EQUALS, number))
                return alts[0] if len(alts) == 1 else AnyOf(tuple(alts))
            if kind in (Kind.INT, Kind.FLOAT):
                number = _number(text)
                if number is None:
                    self._problem(f"{field} holds numbers, not {text!r}")
                    raise _Skip
                return Condition(field, Op.EQUALS, number)
            if kind is Kind.BOOL:
                if text.casefold() not in _TRUE_FALSE:
                    self._problem(f"{field} holds true or false, not {text!r}")
                    raise _Skip
                return Condition(field, Op.EQUALS, _TRUE_FALSE[text.casefold()])
            return self._text(field, Op.EQUALS, text, fold)
        if kind not in (Kind.TEXT, Kind.IP, Kind.ANY):
            self._problem(f"a wildcard pattern on {field}, which does not hold text")
            raise _Skip
        if len(parts) == 3 and parts[0] == many and parts[2] == many and plain_inner:
            return self._text(field, Op.CONTAINS, str(parts[1]), fold)
        if len(parts) == 2 and parts[1] == many and isinstance(parts[0], str):
            return self._text(field, Op.STARTS_WITH, parts[0], fold)
        if len(parts) == 2 and parts[0] == many and isinstance(parts[1], str):
            return self._text(field, Op.ENDS_WITH, parts[1], fold)
        pattern = "".join(
            ".*" if p == many else "." if p == one else re.escape(str(p)) for p in parts
        )
        # (?a): with i, only ASCII letters fold, as ignore_case does; (?s): '*' spans lines.
        flags = "(?ais)" if fold else "(?s)"
        return self._text(field, Op.MATCHES, rf"{flags}\A{pattern}\Z", False)


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None
