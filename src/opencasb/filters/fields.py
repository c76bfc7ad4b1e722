"""The fields a filter can name, their kinds, and how a value is read from an activity.

Field names:

* the normalized activity (:class:`opencasb.model.activity.Activity`): ``app``,
  ``instance``, ``source_event_id``, ``activity_type``, ``category``, ``action``, ``outcome``,
  ``outcome_detail``, ``outcome_reason``, ``actor.id``/``name``/``email``/``type``,
  ``targets.id``/``type``/``name``/``alternate_id``, ``src_ip``, ``geo.country``/
  ``country_code``/``region``/``city``/``lat``/``lon``, ``asn``, ``isp``, ``user_agent``,
  ``device``, ``severity``, ``time``, ``description``;
* the enrichment (:class:`opencasb.enrich.Enrichment`): ``enrich.<field>`` for each of its
  fields but the tags, which are ``ip_tags``;
* vendor data by dotted path: ``raw.<path>`` (the record as received) and ``details.<path>``
  (the normalizer's flat map, whose keys hold dots: ``details.param.ForwardTo`` is the key
  ``param.ForwardTo``; the longest such key wins, and a path goes on below its value).

Case, defined once so that SQL and the predicate agree on both engines:

* Text compares exactly (code point by code point), except two fields the store keeps in a
  canonical case: ``actor.email`` compares lower-cased (Python's ``str.lower``, as the store
  writes it) and ``geo.country_code`` upper-cased. An empty e-mail or country code is "not
  set", as in the store.
* ``ignore_case`` folds the 26 ASCII letters only, on both sides. It is the one folding both
  engines do identically: SQLite's ``lower()`` knows ASCII only, PostgreSQL's depends on the
  database's locale; the SQL uses ``lower()`` on SQLite and ``translate()`` on PostgreSQL.

Several values (``targets.*``, ``ip_tags``, lists in vendor data): a positive operator
matches when any value does; ``is_set`` when there is at least one. A path through ``raw``
or ``details`` descends into every element of a list it meets.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity, Category, Outcome

__all__ = [
    "FIELDS",
    "FieldRef",
    "Kind",
    "ascii_fold",
    "canonical_text",
    "resolve",
]


class Kind(StrEnum):
    """What values a field holds, which decides the operators it accepts."""

    TEXT = "text"
    IP = "ip"  # text, and CIDR
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIME = "time"
    ANY = "any"  # vendor data: text, numbers, booleans, lists, objects


class Case(StrEnum):
    EXACT = "exact"
    LOWER = "lower"
    UPPER = "upper"


Getter = Callable[[Activity, Enrichment | None], Any]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One named field. ``multi``: several values (see the module docstring)."""

    name: str
    kind: Kind
    get: Getter
    multi: bool = False
    case: Case = Case.EXACT
    choices: tuple[str, ...] = ()
    enrichment: bool = False


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A resolved field name: the spec and, for ``raw.``/``details.``, the path below it."""

    spec: FieldSpec
    path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return ".".join((self.spec.name, *self.path))


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    """``text`` with the ASCII letters lower-cased and everything else unchanged."""
    return text.translate(_ASCII_FOLD)


def canonical_text(case: Case, text: str | None) -> str | None:
    """The value as the store keeps it: e-mail lower-cased, country code upper-cased (an
    empty one is no value); anything else unchanged."""
    if text is None or case is Case.EXACT:
        return text
    if not text:
        return None
    return text.lower() if case is Case.LOWER else text.upper()


def _geo(attr: str) -> Getter:
    def get(a: Activity, e: Enrichment | None) -> Any:
        return getattr(a.geo, attr) if a.geo is not None else None

    return get


def _actor(attr: str) -> Getter:
    return lambda a, e: getattr(a.actor, attr)


def _targets(attr: str) -> Getter:
    return lambda a, e: [v for t in a.targets if (v := getattr(t, attr)) is not None]


def _attr(attr: str) -> Getter:
    return lambda a, e: getattr(a, attr)


def _enum(attr: str, enum: type[Category] | type[Outcome]) -> Getter:
    """The value of an enum attribute (``enum(value).value``, without the enum's call when
    it already is a member: a filter asks for the outcome of every activity it meets)."""

    def get(a: Activity, e: Enrichment | None) -> Any:
        v = getattr(a, attr)
        return v._value_ if v.__class__ is enum else enum(v).value

    return get


def _enrich(attr: str) -> Getter:
    return lambda a, e: getattr(e, attr) if e is not None else None


def _specs() -> dict[str, FieldSpec]:
    text = Kind.TEXT
    out: list[FieldSpec] = [
        FieldSpec("app", text, _attr("app")),
        FieldSpec("instance", text, lambda a, e: a.instance or None),
        FieldSpec("source_event_id", text, _attr("source_event_id")),
        FieldSpec("activity_type", text, _attr("activity_type")),
        FieldSpec(
            "category",
            text,
            _enum("category", Category),
            choices=tuple(c.value for c in Category),
        ),
        FieldSpec("action", text, _attr("action")),
        FieldSpec(
            "outcome",
            text,
            _enum("outcome", Outcome),
            choices=tuple(o.value for o in Outcome),
        ),
        FieldSpec("outcome_detail", text, _attr("outcome_detail")),
        FieldSpec("outcome_reason", text, _attr("outcome_reason")),
        FieldSpec("actor.id", text, _actor("id")),
        FieldSpec("actor.name", text, _actor("name")),
        FieldSpec("actor.email", text, _actor("email"), case=Case.LOWER),
        FieldSpec("actor.type", text, _actor("type")),
        *(
            FieldSpec(f"targets.{f}", text, _targets(f), multi=True)
            for f in ("id", "type", "name", "alternate_id")
        ),
        FieldSpec("src_ip", Kind.IP, _attr("src_ip")),
        FieldSpec("geo.country", text, _geo("country")),
        FieldSpec("geo.country_code", text, _geo("country_code"), case=Case.UPPER),
        FieldSpec("geo.region", text, _geo("region")),
        FieldSpec("geo.city", text, _geo("city")),
        FieldSpec("geo.lat", Kind.FLOAT, _geo("lat")),
        FieldSpec("geo.lon", Kind.FLOAT, _geo("lon")),
        FieldSpec("asn", Kind.INT, _attr("asn")),
        *(
            FieldSpec(f, text, _attr(f))
            for f in ("isp", "user_agent", "device", "severity", "description")
        ),
        FieldSpec("time", Kind.TIME, _attr("time")),
        FieldSpec(
            "ip_tags",
            text,
            lambda a, e: list(e.ip_tags) if e is not None else [],
            multi=True,
            enrichment=True,
        ),
    ]
    # Enrichment's annotations are strings ("int | None"; the module uses postponed
    # annotations); its other fields are text.
    kinds = {"bool": Kind.BOOL, "int": Kind.INT, "float": Kind.FLOAT}
    for f in fields(Enrichment):
        if f.name == "ip_tags":
            continue
        kind = kinds.get(str(f.type).removesuffix(" | None"), text)
        case = Case.UPPER if f.name == "country_code" else Case.EXACT
        out.append(FieldSpec(f"enrich.{f.name}", kind, _enrich(f.name), case=case, enrichment=True))
    return {s.name: s for s in out}


FIELDS: Mapping[str, FieldSpec] = _specs()
"""Every fixed field by name (``raw.`` and ``details.`` paths come on top)."""

_DYNAMIC = ("raw", "details")


def _walk(value: Any, path: tuple[str, ...], out: list[Any]) -> None:
    # Descends into every list element on the way (and at the end): vendor data nests
    # lists of objects (Office 365's ExtendedProperties, Okta's targets).
    if isinstance(value, list | tuple):
        for item in value:
            _walk(item, path, out)
        return
    if not path:
        if value is not None:
            out.append(value)
        return
    if isinstance(value, Mapping):
        _walk(value.get(path[0]), path[1:], out)


def _dynamic_getter(root: str, path: tuple[str, ...]) -> Getter:
    if root == "details":
        # ``details`` is a flat map whose keys hold dots (``param.ForwardTo``,
        # ``security.is_proxy``): the longest key made of the path's first parts wins, then
        # the rest of the path is walked below it as usual (a value may itself be an
        # object). The keys to try, longest first, are made once.
        cuts = [(".".join(path[:cut]), path[cut:]) for cut in range(len(path), 1, -1)]

        def flat(a: Activity, e: Enrichment | None) -> list[Any]:
            out: list[Any] = []
            value = a.details
            if isinstance(value, Mapping):
                for key, rest in cuts:
                    if key in value:
                        _walk(value[key], rest, out)
                        return out
            _walk(value, path, out)
            return out

        return flat

    def get(a: Activity, e: Enrichment | None) -> list[Any]:
        out: list[Any] = []
        _walk(getattr(a, root), path, out)
        return out

    return get


def resolve(name: str) -> FieldRef:
    """The field called ``name``.

    Raises:
        ValueError: no such field (the message suggests the nearest names).
    """
    spec = FIELDS.get(name)
    if spec is not None:
        return FieldRef(spec)
    root, _, rest = name.partition(".")
    if root in _DYNAMIC:
        path = tuple(rest.split(".")) if rest else ()
        if not path or any(not p for p in path):
            raise ValueError(
                f"{name!r} is not a path: write {root}.<key>.<key>..., e.g. "
                f"{root}.debugContext.debugData.behaviors"
            )
        spec = FieldSpec(root, Kind.ANY, _dynamic_getter(root, path), multi=True)
        return FieldRef(spec, path)
    near = difflib.get_close_matches(name, [*FIELDS, "raw.", "details."], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise ValueError(f"unknown field {name!r}{hint}")
