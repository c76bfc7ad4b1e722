"""Policy match conditions: a small filter form for what the shared filter language
(:mod:`opencasb.filters`) cannot say yet. Policies put it under ``match:``.

It reads flattened ``details`` keys that contain dots (``details.param.ForwardTo`` is the
key ``param.ForwardTo``, where the shared language would look for ``param`` then
``ForwardTo``) and it can tell an address outside the actor's own domain
(``external_address``).

YAML shape (all keys of a mapping must hold: AND)::

    match:
      activity_type: [user.session.start, UserLoginFailed]    # a list: any of (in)
      outcome: failure                                        # a scalar: equals
      details.param.ForwardingSmtpAddress: {external_address: true}
      targets.id: {contains: "#EXT#"}
      any:                                                    # OR of filters
        - details.security.is_proxy: true
        - actor.type: {in: [User]}
      not: {actor.email: {ends_with: "@example.com"}}         # NOT of a filter

Field paths: the activity's own fields (``activity_type``, ``outcome``, ``category``, ``app``,
``instance``, ``action``, ``src_ip``, ``user_agent``...), ``actor.<id|name|email|type>``,
``geo.<country|country_code|region|city>``, ``targets.<id|type|name|alternate_id>`` (any
target), ``details.<key>`` (the whole rest is the key: ``details.security.is_proxy``) and
``raw.<a.b.c>`` (nested keys of the vendor record; lists are searched element by element).

Operators: ``equals``, ``not_equals``, ``in``, ``not_in``, ``contains``, ``starts_with``,
``ends_with``, ``is_set`` (true/false) and ``external_address`` (true: the value is an e-mail
address, ``smtp:`` prefix allowed, whose domain is not the actor's own). Comparisons ignore
case; booleans and numbers compare by their text (``true``, ``42``). A field with several
values (``targets.id``) satisfies a positive operator when any value does, and a negative one
(``not_equals``, ``not_in``) when no value is excluded.

Contract: :func:`parse_filter` reports every problem of a filter (with its path inside the
filter), never only the first; a built :class:`Filter` never raises on any activity.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum
from typing import Any

from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity

__all__ = [
    "FIELDS",
    "OPERATORS",
    "All",
    "AnyOf",
    "Condition",
    "Filter",
    "Issue",
    "Not",
    "getter",
    "parse_filter",
    "text",
]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem of a filter: where (a path of keys and indexes), what, and whether it is
    the key at that path that is wrong (an unknown field) rather than its value."""

    path: Path
    message: str
    on_key: bool = False


_TOP_FIELDS = frozenset(
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
_SUB_FIELDS = {
    "actor": frozenset({"id", "name", "email", "type"}),
    "geo": frozenset({"country", "country_code", "region", "city"}),
    "targets": frozenset({"id", "type", "name", "alternate_id"}),
}
FIELDS = (
    *sorted(_TOP_FIELDS),
    *(f"{group}.{name}" for group, names in _SUB_FIELDS.items() for name in sorted(names)),
    "details.<key>",
    "raw.<path>",
)
"""The field paths a condition can name (``<key>``/``<path>`` stand for any key)."""

Getter = Callable[[Activity], list[Any]]


def getter(path: str) -> Getter | None:
    """The values of field ``path`` of an activity (empty when unset); None: no such field.

    Contract: the returned function never raises, whatever the activity holds."""
    head, _, rest = path.partition(".")
    if not rest:
        if head not in _TOP_FIELDS:
            return None
        return lambda a: _present([getattr(a, head)])
    if head == "details":
        return lambda a: _present(_flat([a.details.get(rest)]))
    if head == "raw":
        keys = rest.split(".")
        return lambda a: _present(_walk(a.raw, keys))
    names = _SUB_FIELDS.get(head)
    if names is None or rest not in names:
        return None
    if head == "actor":
        return lambda a: _present([getattr(a.actor, rest)])
    if head == "geo":
        return lambda a: _present([getattr(a.geo, rest) if a.geo is not None else None])
    return lambda a: _present([getattr(t, rest) for t in a.targets])


def _present(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None and v != ""]


def _flat(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(v)
        else:
            out.append(v)
    return out


def _walk(node: Any, keys: list[str]) -> list[Any]:
    if not keys:
        return _flat([node])
    if isinstance(node, Mapping):
        return _walk(node.get(keys[0]), keys[1:])
    if isinstance(node, (list, tuple)):
        return [v for item in node for v in _walk(item, keys)]
    return []


def text(value: Any) -> str:
    """The comparable text of a value: enums by value, booleans as true/false, case folded."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


_SEPARATORS = re.compile(r"[;,\s]+")


def _domains(value: str) -> list[str]:
    """The domains of the e-mail addresses in ``value`` (``smtp:`` prefixes allowed; several
    addresses separated by ``;``, ``,`` or spaces)."""
    out = []
    for part in _SEPARATORS.split(value.casefold()):
        user, at, domain = part.removeprefix("smtp:").rpartition("@")
        if at and user and domain:
            out.append(domain.strip("<>[]\"'"))
    return out


class Filter:
    """Base of the built filters; each is a :class:`~opencasb.detect.policy.Predicate`."""

    __slots__ = ()

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        raise NotImplementedError

    def to_data(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Condition(Filter):
    """``field`` compared with ``value`` by ``op`` (one of :data:`OPERATORS`)."""

    field: str
    op: str
    value: Any  # a scalar, or a tuple for in / not_in
    get: Getter = dataclass_field(repr=False, compare=False)
    test: Callable[[list[Any], Activity], bool] = dataclass_field(repr=False, compare=False)

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        return self.test(self.get(activity), activity)

    def to_data(self) -> Any:
        if self.op == "equals":
            return {self.field: self.value}
        if self.op == "in":
            return {self.field: list(self.value)}
        return {self.field: {self.op: list(self.value) if self.op == "not_in" else self.value}}


@dataclass(frozen=True, slots=True)
class All(Filter):
    """Every part holds (an empty one always holds)."""

    parts: tuple[Filter, ...]

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        return all(p.matches(activity, enrichment) for p in self.parts)

    def to_data(self) -> Any:
        out: dict[str, Any] = {}
        extra: list[Any] = []
        for part in self.parts:
            data = part.to_data()
            if isinstance(data, dict) and len(data) == 1 and next(iter(data)) not in out:
                out.update(data)
            else:
                extra.append(data)
        if extra:
            out["all"] = extra
        return out


@dataclass(frozen=True, slots=True)
class AnyOf(Filter):
    """At least one part holds."""

    parts: tuple[Filter, ...]

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        return any(p.matches(activity, enrichment) for p in self.parts)

    def to_data(self) -> Any:
        return {"any": [p.to_data() for p in self.parts]}


@dataclass(frozen=True, slots=True)
class Not(Filter):
    """The part does not hold."""

    part: Filter

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        return not self.part.matches(activity, enrichment)

    def to_data(self) -> Any:
        return {"not": self.part.to_data()}


def _equals(want: str) -> Callable[[list[Any], Activity], bool]:
    return lambda values, _a: any(text(v) == want for v in values)


def _in(wants: frozenset[str]) -> Callable[[list[Any], Activity], bool]:
    return lambda values, _a: any(text(v) in wants for v in values)


def _external(want: bool) -> Callable[[list[Any], Activity], bool]:
    def test(values: list[Any], activity: Activity) -> bool:
        own = _domains(activity.actor.email or "") or _domains(activity.actor.name or "")
        found = any(d not in own for v in values for d in _domains(str(v)))
        return found is want

    return test


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


OPERATORS = (
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
"""The operators a condition may use."""


def _build(field: str, op: str, value: Any, get: Getter, where: Path) -> Condition | Issue:
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(_scalar(v) for v in value):
            return Issue(where, f"{op} needs a non-empty list of values")
        wants = frozenset(text(v) for v in value)
        test = _in(wants)
        if op == "not_in":
            return Condition(field, op, tuple(value), get, lambda vs, a: not test(vs, a))
        return Condition(field, op, tuple(value), get, test)
    if op in ("is_set", "external_address"):
        if not isinstance(value, bool):
            return Issue(where, f"{op} needs true or false")
        if op == "is_set":
            return Condition(field, op, value, get, lambda vs, _a: bool(vs) is value)
        return Condition(field, op, value, get, _external(value))
    if not _scalar(value):
        return Issue(where, f"{op} needs one value (text, number or true/false)")
    want = text(value)
    test_of: dict[str, Callable[[list[Any], Activity], bool]] = {
        "equals": _equals(want),
        "not_equals": lambda vs, a: not _equals(want)(vs, a),
        "contains": lambda vs, _a: any(want in text(v) for v in vs),
        "starts_with": lambda vs, _a: any(text(v).startswith(want) for v in vs),
        "ends_with": lambda vs, _a: any(text(v).endswith(want) for v in vs),
    }
    return Condition(field, op, value, get, test_of[op])


def parse_filter(data: Any, path: Path = ()) -> tuple[Filter | None, list[Issue]]:
    """The filter of ``data`` (the ``filter:`` value), and every problem found in it.

    The filter is None when there is any problem. ``path`` prefixes the issues' paths.
    """
    issues: list[Issue] = []
    built = _parse(data, path, issues)
    return (built if not issues else None), issues


def _parse(data: Any, path: Path, issues: list[Issue]) -> Filter:
    if not isinstance(data, Mapping) or not data:
        issues.append(Issue(path, "a filter is a mapping of field: condition (and any/all/not)"))
        return All(())
    parts: list[Filter] = []
    for key, value in data.items():
        where = (*path, key)
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                issues.append(Issue(where, f"{key} needs a non-empty list of filters"))
                continue
            subs = tuple(_parse(v, (*where, i), issues) for i, v in enumerate(value))
            parts.append(AnyOf(subs) if key == "any" else All(subs))
        elif key == "not":
            parts.append(Not(_parse(value, where, issues)))
        else:
            parts.extend(_conditions(str(key), value, where, issues))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _conditions(field: str, value: Any, where: Path, issues: list[Issue]) -> Iterator[Filter]:
    get = getter(field)
    if get is None:
        issues.append(
            Issue(where, f"unknown field {field!r}; fields are {', '.join(FIELDS)}", on_key=True)
        )
        return
    if isinstance(value, Mapping):
        if not value:
            issues.append(Issue(where, f"an operator is needed: one of {', '.join(OPERATORS)}"))
        for op, operand in value.items():
            if op not in OPERATORS:
                issues.append(
                    Issue(
                        (*where, op), f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}"
                    )
                )
                continue
            built = _build(field, str(op), operand, get, (*where, op))
            if isinstance(built, Issue):
                issues.append(built)
            else:
                yield built
        return
    op = "in" if isinstance(value, list) else "equals"
    built = _build(field, op, value, get, where)
    if isinstance(built, Issue):
        issues.append(built)
    else:
        yield built
