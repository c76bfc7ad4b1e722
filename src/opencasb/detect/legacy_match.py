"""``match:`` — the policy conditions of earlier versions — read as the shared filter language.

Policies once had a second, smaller filter form under ``match:`` (field: value mappings,
with ``any``/``all``/``not``). It is gone: every policy is written with ``filter:``
(:mod:`opencasb.filters`). A policy file, an API request or a policy stored by an earlier
version that still has ``match:`` is translated here into a filter document with the same
meaning; the loader logs that it should be rewritten as ``filter:``, and saving or exporting
the policy writes ``filter:``. Nothing of ``match:`` is ignored: what cannot be translated is
a problem of the file, at its place.

The old form's meaning, and how it is kept:

* comparisons ignored case: every text condition gets ``ignore_case: true`` (which folds the
  ASCII letters; the old form folded every letter, so values differing only in the case of
  a non-ASCII letter no longer compare equal);
* booleans and numbers compared by their text: in vendor data (``details.``, ``raw.``) an
  ``equals``/``in`` value is also matched as text and text as a boolean or whole number
  (``true`` matches ``true`` and ``"True"``, ``"42"`` matches ``42`` and ``"42"``); on the
  activity's own text fields the value is written as text;
* a field with several values (``targets.id``): positive operators hold when any value
  does and ``not_equals``/``not_in`` when none is excluded, as in the filter language;
* empty text was "not set" (``is_set``), as it is not in the filter language: ``is_set`` is
  written with ``equals: ""`` beside it;
* ``details.<key>`` named the flattened key (``details.param.ForwardTo`` is the key
  ``param.ForwardTo``), which the filter language reads too (the longest key wins).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FIELDS", "Issue", "translate_match"]

Path = tuple[str | int, ...]
Issue = tuple[Path, str, bool]
"""A problem: its path, the message, and whether the key at that path is what is wrong."""

_TOP = frozenset(
    {
        "app",
        "instance",
        "source_event_id",
        "activity_type",
        "category",
        "action",
        "outcome",
        "outcome_detail",
        "outcome_reason",
        "src_ip",
        "asn",
        "isp",
        "user_agent",
        "device",
        "severity",
        "description",
    }
)
_SUB = {
    "actor": frozenset({"id", "name", "email", "type"}),
    "geo": frozenset({"country", "country_code", "region", "city"}),
    "targets": frozenset({"id", "type", "name", "alternate_id"}),
}
FIELDS = (
    *sorted(_TOP),
    *(f"{group}.{name}" for group, names in _SUB.items() for name in sorted(names)),
    "details.<key>",
    "raw.<path>",
)
"""The field paths ``match:`` could name."""

_OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "is_set",
    "external_address",
)
_NEVER_EMPTY = frozenset({"asn", "outcome", "category"})  # a number, enums
_REWRITE = "rewrite the policy with filter: (the filter language)"
_WHOLE = re.compile(r"-?[1-9][0-9]*|0")


def _known(field: str) -> bool:
    head, _, rest = field.partition(".")
    if not rest:
        return head in _TOP
    if head in ("details", "raw"):
        return all(rest.split("."))
    return rest in _SUB.get(head, ())


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _variants(value: Any) -> list[Any]:
    """What a vendor-data value equals when compared by text: itself, and its other forms."""
    out: list[Any] = [value]
    if isinstance(value, int | float):  # booleans too
        out.append(_text(value))
    elif isinstance(value, str):
        folded = value.casefold()
        if folded in ("true", "false"):
            out.append(folded == "true")
        elif _WHOLE.fullmatch(value):
            out.append(int(value))
    return out


def translate_match(data: Any, path: Path = ()) -> tuple[Any | None, list[Issue]]:
    """The filter-language document that means what ``match:`` ``data`` meant, and every
    problem found in it (paths prefixed by ``path``). The document is None on any problem;
    it can still fail the filter language's own checks (a value no field takes)."""
    issues: list[Issue] = []
    doc = _node(data, path, issues)
    return (doc if not issues else None), issues


def _node(data: Any, path: Path, issues: list[Issue]) -> Any:
    if not isinstance(data, Mapping) or not data:
        issues.append((path, f"match: holds a mapping of field: condition; {_REWRITE}", False))
        return {"all": []}
    parts: list[Any] = []
    for key, value in data.items():
        where = (*path, key)
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                issues.append((where, f"{key} needs a non-empty list of filters", False))
                continue
            parts.append({key: [_node(v, (*where, i), issues) for i, v in enumerate(value)]})
        elif key == "not":
            parts.append({"not": _node(value, where, issues)})
        else:
            parts.extend(_conditions(str(key), value, where, issues))
    return parts[0] if len(parts) == 1 else {"all": parts}


def _conditions(field: str, value: Any, where: Path, issues: list[Issue]) -> list[Any]:
    if not _known(field):
        fields = ", ".join(FIELDS)
        issues.append((where, f"unknown field {field!r} (match: fields are {fields})", True))
        return []
    if not isinstance(value, Mapping):
        op = "in" if isinstance(value, list) else "equals"
        built = _build(field, op, value, where)
        if isinstance(built, tuple):
            issues.append(built)
            return []
        return [built]
    if not value:
        issues.append((where, f"an operator is needed: one of {', '.join(_OPERATORS)}", False))
    out: list[Any] = []
    for op, operand in value.items():
        if op not in _OPERATORS:
            message = f"unknown operator {op!r}; use one of {', '.join(_OPERATORS)}"
            issues.append(((*where, op), message, False))
            continue
        built = _build(field, str(op), operand, (*where, op))
        if isinstance(built, tuple):
            issues.append(built)
        else:
            out.append(built)
    return out


def _build(field: str, op: str, value: Any, where: Path) -> dict[str, Any] | Issue:
    vendor = field.startswith(("details.", "raw."))
    if op in ("is_set", "external_address"):
        if not isinstance(value, bool):
            return (where, f"{op} needs true or false", False)
        if op == "is_set" and field not in _NEVER_EMPTY:
            # Empty text was "not set" in the old form; in the filter language it is a value.
            if value:
                return {"all": [{"field": field, op: True}, {"field": field, "not_equals": ""}]}
            return {"any": [{"field": field, op: False}, {"field": field, "equals": ""}]}
        return {"field": field, op: value}
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(_scalar(v) for v in value):
            return (where, f"{op} needs a non-empty list of values", False)
        values = value
    elif not _scalar(value):
        return (where, f"{op} needs one value (text, number or true/false)", False)
    else:
        values = [value]
    if field == "asn" and op in ("equals", "not_equals", "in", "not_in"):
        # A number in the filter language; the old form compared its text.
        numbers = [int(v) if isinstance(v, str) and _WHOLE.fullmatch(v) else v for v in values]
        return {"field": field, "in" if op in ("equals", "in") else "not_in": numbers}
    if op in ("contains", "starts_with", "ends_with"):
        return {"field": field, op: _text(values[0]), "ignore_case": True}
    positive = op in ("equals", "in")
    listed: list[Any] = []
    for v in values:
        for w in _variants(v) if vendor else [_text(v)]:
            if not any(type(w) is type(x) and w == x for x in listed):
                listed.append(w)
    if len(listed) == 1:
        key, given = ("equals" if positive else "not_equals"), listed[0]
    else:
        key, given = ("in" if positive else "not_in"), listed
    return {"field": field, key: given, "ignore_case": True}
