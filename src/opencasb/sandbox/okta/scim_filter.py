"""The SCIM filter subset Okta accepts (RFC 7644 §3.4.2.2, without ``[ ]`` value paths).

Grammar (operators and ``and``/``or``/``not`` are case-insensitive, attribute names are not)::

    expr    := and_expr ("or" and_expr)*
    and_expr:= unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | path "pr" | path OP literal
    OP      := eq | ne | gt | ge | lt | le | sw | ew | co
    literal := JSON string | number | true | false | null

Evaluation over a JSON object: a dotted path walks nested objects and fans out over arrays,
so ``target.id eq "X"`` is true when ANY target has id X. String comparisons ignore case
(SCIM's default for non-caseExact attributes); ordering operators compare ISO-8601 datetimes
as instants when both sides parse as one.

Parse errors raise :class:`FilterSyntaxError` whose message is Okta's wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "And",
    "Compare",
    "FilterSyntaxError",
    "Node",
    "Not",
    "Or",
    "Present",
    "comparisons",
    "evaluate",
    "parse_filter",
    "uses_not",
]

OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "sw", "ew", "co")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()"]+))')


class FilterSyntaxError(ValueError):
    """The filter does not parse; ``str()`` is the message Okta puts in errorSummary."""


@dataclass(frozen=True, slots=True)
class Compare:
    path: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class Present:
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    inner: Node


Node = Compare | Present | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "(", ")", "str", "word", "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            if text[i:].strip() == "":
                break
            raise FilterSyntaxError(f"Invalid filter '{text}': Unterminated string at position {i}")
        for kind, group in (("(", 1), (")", 2), ("str", 3), ("word", 4)):
            if m.group(group) is not None:
                toks.append(_Tok(kind, m.group(group), m.start(group)))
                break
        i = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def fail(self, what: str, tok: _Tok) -> FilterSyntaxError:
        return FilterSyntaxError(f"Invalid filter '{self.text}': {what} at position {tok.pos}")

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(f"Unexpected '{tok.text}'", tok)
        return node

    def expr(self) -> Node:
        node = self.and_expr()
        while self.keyword("or"):
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        tok = self.take()
        if tok.kind == "(":
            node = self.expr()
            close = self.take()
            if close.kind != ")":
                raise self.fail("Expected ')'", close)
            return node
        if tok.kind != "word" or not re.fullmatch(
            r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", tok.text
        ):
            raise self.fail(f"Expected an attribute name but found '{tok.text}'", tok)
        path = tuple(tok.text.split("."))
        op_tok = self.take()
        op = op_tok.text.lower()
        if op_tok.kind != "word" or (op != "pr" and op not in OPERATORS):
            # Okta's own wording for a bad operator (quoted in api-okta.md §3.4).
            raise FilterSyntaxError(
                f"Invalid filter '{self.text}': Unrecognized attribute operator "
                f"'{op_tok.text}' at position {op_tok.pos}. "
                "Expected: eq,ne,co,sw,ew,pr,gt,ge,lt,le"
            )
        if op == "pr":
            return Present(path)
        return Compare(path, op, self.literal())

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return orjson.loads(tok.text)
        if tok.kind == "word":
            low = tok.text.lower()
            if low in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[low]
            try:
                return int(tok.text)
            except ValueError:
                pass
            try:
                return float(tok.text)
            except ValueError:
                pass
        raise self.fail(f"Expected a value but found '{tok.text}'", tok)


def parse_filter(text: str) -> Node:
    """Parse ``text`` into a tree, or raise :class:`FilterSyntaxError`."""
    if not text.strip():
        raise FilterSyntaxError(f"Invalid filter '{text}': empty expression at position 0")
    return _Parser(text).parse()


def comparisons(node: Node) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every ``(path, operator)`` the filter uses, for per-endpoint validation."""
    if isinstance(node, Compare):
        yield node.path, node.op
    elif isinstance(node, Present):
        yield node.path, "pr"
    elif isinstance(node, And | Or):
        yield from comparisons(node.left)
        yield from comparisons(node.right)
    else:
        yield from comparisons(node.inner)


def uses_not(node: Node) -> bool:
    """True when the filter contains ``not`` (the Users API does not allow it)."""
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return uses_not(node.left) or uses_not(node.right)
    return False


def _resolve(obj: Any, path: tuple[str, ...]) -> list[Any]:
    values = [obj]
    for part in path:
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, list):
                v_items: list[Any] = v
            else:
                v_items = [v]
            for item in v_items:
                if isinstance(item, dict) and part in item:
                    child = item[part]
                    if isinstance(child, list):
                        nxt.extend(child)
                    else:
                        nxt.append(child)
        values = nxt
    return values


def _as_instant(value: str) -> datetime | None:
    if len(value) < 10 or not value[:4].isdigit() or value[4] != "-":
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _order(actual: Any, expected: Any) -> int | None:
    """-1/0/1 comparing actual to expected, or None when they are not comparable."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        if isinstance(actual, bool) and isinstance(expected, bool):
            return (actual > expected) - (actual < expected)
        return None
    if isinstance(expected, int | float) and isinstance(actual, str):
        try:
            actual = float(actual)
        except ValueError:
            return None
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return (actual > expected) - (actual < expected)
    if isinstance(actual, str) and isinstance(expected, str):
        a_t, e_t = _as_instant(actual), _as_instant(expected)
        if a_t is not None and e_t is not None:
            return (a_t > e_t) - (a_t < e_t)
        a, e = actual.lower(), expected.lower()
        return (a > e) - (a < e)
    return None


def _compare_one(actual: Any, op: str, expected: Any) -> bool:
    if expected is None:
        return op == "eq" and actual is None
    if op in ("sw", "ew", "co"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        a, e = actual.lower(), expected.lower()
        return a.startswith(e) if op == "sw" else a.endswith(e) if op == "ew" else e in a
    order = _order(actual, expected)
    if order is None:
        return False
    return {
        "eq": order == 0,
        "gt": order > 0,
        "ge": order >= 0,
        "lt": order < 0,
        "le": order <= 0,
    }[op]


def evaluate(node: Node, obj: Any) -> bool:
    """True when ``obj`` (a parsed JSON object) satisfies the filter."""
    if isinstance(node, Compare):
        values = _resolve(obj, node.path)
        if node.op == "ne":
            return not any(_compare_one(v, "eq", node.value) for v in values)
        if node.value is None and node.op == "eq" and not values:
            return True
        return any(_compare_one(v, node.op, node.value) for v in values)
    if isinstance(node, Present):
        return any(v is not None and v != [] and v != {} for v in _resolve(obj, node.path))
    if isinstance(node, And):
        return evaluate(node.left, obj) and evaluate(node.right, obj)
    if isinstance(node, Or):
        return evaluate(node.left, obj) or evaluate(node.right, obj)
    return not evaluate(node.inner, obj)
