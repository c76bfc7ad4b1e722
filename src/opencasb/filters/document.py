"""Filters as documents (YAML or JSON) and back: the edge of the filter language.

A document is one node::

    all:                                  # AND; "any" is OR, "not" negates one node
      - field: app
        equals: okta
      - field: actor.email
        in: [ann@example.com, bob@example.com]
      - not:
          field: src_ip
          cidr: [10.0.0.0/8, "2001:db8::/32"]
      - field: raw.debugContext.debugData.behaviors
        contains: New Geo-Location=POSITIVE
      - field: time
        gte: 2026-11-01T00:00:00Z
      - field: geo.city
        equals: zurich
        ignore_case: true

A condition is ``field``, exactly one operator key (:class:`~opencasb.filters.ast.Op`:
``equals``, ``not_equals``, ``in``, ``not_in``, ``contains``, ``starts_with``, ``ends_with``,
``matches`` (a regular expression), ``is_set: true|false``, ``cidr``, ``gt``, ``gte``,
``lt``, ``lte``, ``external_address: true|false``: an e-mail address, ``smtp:`` prefix
allowed, whose domain is not the actor's own) and optionally ``ignore_case: true`` (not for
``matches``: write ``(?i)``).
A list at the top is read as ``all``.

Reading reports every problem, each with its path in the document (``all[2].not.cidr``)
and, when read from text, its line and column (PyYAML's node marks); JSON is read as YAML,
of which it is a subset. :func:`to_document` writes a tree back (times as ISO 8601 in UTC),
and reading that again gives an equal tree.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from opencasb.errors import ConfigError, DocumentError, Problem
from opencasb.filters.ast import (
    STRING_OPS,
    AllOf,
    AnyOf,
    Condition,
    Filter,
    Not,
    Op,
    Scalar,
    Value,
)
from opencasb.filters.fields import FieldRef, Kind, ascii_fold, resolve

__all__ = ["check", "load_filter", "parse_filter", "parse_filter_text", "to_document"]

_Path = tuple[str | int, ...]

_COMBINATORS = ("all", "any", "not")
_SUBSTRING = (Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH)
_ORDER = (Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE)
_KIND_OPS: dict[Kind, frozenset[Op]] = {
    Kind.TEXT: STRING_OPS | {Op.IS_SET, Op.MATCHES, Op.EXTERNAL_ADDRESS},
    Kind.IP: STRING_OPS | {Op.IS_SET, Op.CIDR, Op.MATCHES},
    Kind.INT: frozenset({*_ORDER, Op.IN, Op.NOT_IN, Op.IS_SET}),
    Kind.FLOAT: frozenset({*_ORDER, Op.IN, Op.NOT_IN, Op.IS_SET}),
    Kind.TIME: frozenset({*_ORDER, Op.IS_SET}),
    Kind.BOOL: frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.IS_SET}),
    Kind.ANY: frozenset(Op),
}
_FIX = (
    "Correct the filter; each problem names its place in the document. A condition is "
    "'field:' plus one operator (equals, not_equals, in, not_in, contains, starts_with, "
    "ends_with, matches, is_set, cidr, gt, gte, lt, lte, external_address); combine with "
    "all:, any: and not:."
)


def _render(path: _Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _describe(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text"}
    if value is None:
        return "nothing (null)"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    return names.get(type(value), type(value).__name__)


def _hint(value: Any) -> str:
    # YAML 1.1 reads NO, yes, on, 0123 as booleans and numbers; quoting keeps them text.
    if isinstance(value, bool | int | float):
        return " (quote it to make it text)"
    return ""


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if not isinstance(value, datetime):
        raise ValueError(
            f"expected a time with a zone (2026-11-01T08:00:00Z), got {_describe(value)}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the time needs a zone: add Z for UTC or an offset such as +01:00")
    return value.astimezone(UTC)


def _element(ref: FieldRef, op: Op, value: Any) -> Scalar:
    """One value for ``op`` on ``ref``, validated (ValueError says what is wrong)."""
    kind = ref.spec.kind
    if op is Op.CIDR:
        if not isinstance(value, str):
            raise ValueError(f"expected a network such as 10.0.0.0/8, got {_describe(value)}")
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
        return value.strip()
    if kind is Kind.TIME:
        return _time(value)
    if op is Op.MATCHES:
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a regular expression, got {_describe(value)}")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value
    if op in _SUBSTRING or kind in (Kind.TEXT, Kind.IP):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {_describe(value)}{_hint(value)}")
        if op in _SUBSTRING and not value:
            raise ValueError(f"{op.value} needs a non-empty text")
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_describe(value)}")
        return value
    numeric = op in (Op.GT, Op.GTE, Op.LT, Op.LTE) or kind in (Kind.INT, Kind.FLOAT)
    if numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {_describe(value)}")
        if kind is Kind.INT and not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ValueError("the number is out of range (64-bit)")
        return value
    # Kind.ANY with equals / in: any JSON scalar
    if isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ValueError(f"expected text, a number or a boolean, got {_describe(value)}")


def _value(ref: FieldRef, op: Op, value: Any, ignore_case: bool) -> Value:
    """The validated value of a condition (tuples for lists, UTC datetimes for times)."""
    kind = ref.spec.kind
    if op not in _KIND_OPS[kind]:
        allowed = ", ".join(o.value for o in Op if o in _KIND_OPS[kind])
        raise ValueError(f"{ref.name} ({kind.value}) does not take {op.value}; use {allowed}")
    if ignore_case and op not in STRING_OPS:
        raise ValueError(f"ignore_case applies to text operators, not {op.value}")
    if op in (Op.IS_SET, Op.EXTERNAL_ADDRESS):
        if not isinstance(value, bool):
            raise ValueError(f"{op.value} takes true or false, got {_describe(value)}")
        return value
    if op in (Op.IN, Op.NOT_IN) or (op is Op.CIDR and isinstance(value, list | tuple)):
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"{op.value} takes a non-empty list, got {_describe(value)}")
        items = tuple(_element(ref, op, v) for v in value)
    else:
        items = (_element(ref, op, value),)
    if ref.spec.choices and op in (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN):
        choices = ref.spec.choices
        for v in items:
            text = ascii_fold(str(v)) if ignore_case else v
            if text not in choices:
                raise ValueError(f"{v!r} is not a {ref.name}; use one of {', '.join(choices)}")
    if op in (Op.IN, Op.NOT_IN, Op.CIDR):
        return items
    return items[0]


def check(flt: Filter) -> Filter:
    """``flt`` validated and normalized (lists as tuples, times in UTC), as parsing would.

    Raises:
        DocumentError: every problem, with its path in the tree.
    """
    return parse_filter(to_document(flt), source="filter")


@dataclass
class _Reader:
    marks: Mapping[_Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: Mapping[_Path, tuple[int, int]] = field(default_factory=dict)
    source: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: _Path, message: str, *, at_key: bool = False) -> None:
        mark = self.key_marks.get(path) if at_key else None
        probe = path
        while mark is None:
            mark = self.marks.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        line, column = mark if mark is not None else (None, None)
        self.problems.append(Problem(_render(path), message, line, column, self.source))

    def node(self, value: Any, path: _Path) -> Filter | None:
        if isinstance(value, list):
            return self.group(AllOf, value, path)
        if not isinstance(value, Mapping):
            self.problem(path, f"expected a condition or all/any/not, got {_describe(value)}")
            return None
        keys = [k for k in value if k in _COMBINATORS]
        if keys:
            extra = [k for k in value if k != keys[0]]
            if extra:
                self.problem(
                    (*path, str(extra[0])),
                    f"{keys[0]!r} stands alone; put {extra[0]!r} in a node of its own",
                    at_key=True,
                )
                return None
            key = keys[0]
            if key == "not":
                inner = self.node(value[key], (*path, key))
                return Not(inner) if inner is not None else None
            items = value[key]
            if not isinstance(items, list):
                self.problem((*path, key), f"{key} takes a list, got {_describe(items)}")
                return None
            return self.group(AllOf if key == "all" else AnyOf, items, (*path, key))
        return self.condition(value, path)

    def group(self, cls: type[AllOf] | type[AnyOf], items: list[Any], path: _Path) -> Filter | None:
        parsed = [self.node(item, (*path, i)) for i, item in enumerate(items)]
        if any(p is None for p in parsed):
            return None
        return cls(tuple(p for p in parsed if p is not None))

    def condition(self, value: Mapping[Any, Any], path: _Path) -> Filter | None:
        ok = True
        known = {"field", "ignore_case", *(o.value for o in Op)}
        for key in value:
            if key not in known:
                near = difflib.get_close_matches(str(key), [*known, *_COMBINATORS], n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                self.problem((*path, str(key)), f"unknown key {key!r}{hint}", at_key=True)
                ok = False
        ops = [Op(k) for k in value if k in {o.value for o in Op}]
        name = value.get("field")
        ref: FieldRef | None = None
        if name is None:
            self.problem(path, "a condition needs 'field:' (or use all/any/not)")
            ok = False
        elif not isinstance(name, str):
            self.problem((*path, "field"), f"expected a field name, got {_describe(name)}")
            ok = False
        else:
            try:
                ref = resolve(name)
            except ValueError as exc:
                self.problem((*path, "field"), str(exc))
                ok = False
        if len(ops) != 1:
            if not ops:
                self.problem(path, "a condition needs one operator (equals, in, contains, ...)")
            else:
                names = " and ".join(o.value for o in ops)
                self.problem(
                    (*path, ops[1].value), f"one operator per condition, not {names}", at_key=True
                )
            return None
        op = ops[0]
        ignore_case = value.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            self.problem((*path, "ignore_case"), "ignore_case takes true or false")
            return None
        if not ok or ref is None:
            return None
        try:
            checked = _value(ref, op, value[op.value], ignore_case)
        except ValueError as exc:
            self.problem((*path, op.value), str(exc))
            return None
        return Condition(ref.name, op, checked, ignore_case)


def parse_filter(
    document: Any,
    *,
    source: str | None = None,
    marks: Mapping[_Path, tuple[int, int]] | None = None,
    key_marks: Mapping[_Path, tuple[int, int]] | None = None,
) -> Filter:
    """The filter a parsed document (dicts, lists, scalars) describes.

    ``source`` names the document in problems; ``marks`` map paths to (line, column).

    Raises:
        DocumentError: every problem found, each with its path (and line and column).
    """
    reader = _Reader(marks or {}, key_marks or {}, source)
    flt = reader.node(document, ())
    if reader.problems or flt is None:
        raise DocumentError(
            f"the filter{f' {source}' if source else ''}",
            reader.problems,
            fix=_FIX,
            code="bad_filter",
        )
    return flt


def _marks(
    node: yaml.Node,
    path: _Path,
    marks: dict[_Path, tuple[int, int]],
    keys: dict[_Path, tuple[int, int]],
) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, child in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            keys[(*path, name)] = (key.start_mark.line + 1, key.start_mark.column + 1)
            _marks(child, (*path, name), marks, keys)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _marks(child, (*path, i), marks, keys)


def parse_filter_text(text: str, *, source: str | None = None) -> Filter:
    """The filter in YAML or JSON ``text``; problems carry their line and column.

    Raises:
        DocumentError: the text is not YAML, or the filter has problems (all of them).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        what = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'invalid YAML'}"
        raise DocumentError(
            f"the filter{f' {source}' if source else ''}",
            [Problem("", f"not YAML or JSON: {what}", line, column, source)],
            fix=_FIX,
            code="bad_filter",
        ) from None
    except yaml.YAMLError as exc:
        raise DocumentError(
            "the filter",
            [Problem("", f"not YAML or JSON: {exc}", None, None, source)],
            code="bad_filter",
        ) from None
    finally:
        loader.dispose()
    marks: dict[_Path, tuple[int, int]] = {}
    keys: dict[_Path, tuple[int, int]] = {}
    if node is not None:
        _marks(node, (), marks, keys)
    return parse_filter(document, source=source, marks=marks, key_marks=keys)


def load_filter(spec: str) -> Filter:
    """A filter from a file path or from inline YAML/JSON text (``--filter`` takes either).

    Text that names an existing file is read from it; otherwise it is the document.

    Raises:
        DocumentError: as :func:`parse_filter_text`; ConfigError: the file cannot be read.
    """
    stripped = spec.strip()
    looks_inline = stripped.startswith(("{", "[")) or "\n" in stripped or ":" in stripped
    path = Path(spec)
    if not looks_inline or path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(
                f"cannot read the filter file {spec}: {exc}",
                fix="Give a readable YAML or JSON file, or the filter itself as text.",
                code="bad_filter",
            ) from exc
        return parse_filter_text(text, source=str(path))
    return parse_filter_text(spec, source="--filter")


def _doc_value(value: Value) -> Any:
    if isinstance(value, tuple):
        return [_doc_value(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def to_document(flt: Filter) -> Any:
    """``flt`` as a JSON/YAML-ready document (the inverse of :func:`parse_filter`)."""
    if isinstance(flt, AllOf):
        return {"all": [to_document(f) for f in flt.items]}
    if isinstance(flt, AnyOf):
        return {"any": [to_document(f) for f in flt.items]}
    if isinstance(flt, Not):
        return {"not": to_document(flt.item)}
    out: dict[str, Any] = {"field": flt.field, flt.op.value: _doc_value(flt.value)}
    if flt.ignore_case:
        out["ignore_case"] = True
    return out
