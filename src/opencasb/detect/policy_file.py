"""Policies to and from YAML, reporting every problem of a file with its line and column.

A file holds one policy (a mapping), a list of policies, or ``policies:`` with that list (what
:func:`dump_policies` writes)::

    policies:
      - id: failed-sign-ins
        name: Multiple failed sign-ins
        severity: medium
        category: threat_detection
        tactic: credential_access
        technique: T1110
        filter:
          all:
            - {field: activity_type, in: [user.session.start, UserLoginFailed]}
            - {field: outcome, equals: failure}
        repeated: {threshold: 10, timeframe: 5m, group_by: user, label: failed sign-ins}
        scope: {exclude_ip_tags: [corporate]}
        daily_alert_limit: 50

A single-activity policy (no ``repeated:``) extends one alert with each match of the same
user no more than ``episode_gap`` (default 1h) after the last; ``episode_gap: 0`` raises an
alert per matching activity.

``filter:`` is in the shared filter language (:mod:`opencasb.filters`); every policy needs one.
``match:``, the smaller filter form of earlier versions, is read as the filter language
(:mod:`opencasb.detect.legacy_match`), ANDed with ``filter:`` when both are given, and a
warning says to rewrite it; what :func:`dump_policies` writes has ``filter:`` only.

Contract: :func:`load_policies` either returns every policy of the file or raises
:class:`~opencasb.errors.DocumentError` listing *every* problem found (unknown keys, wrong
values, bad filters, duplicate ids, placeholders left in an enabled policy), each with its file,
line and column (1-based), not only the first. Only a YAML syntax error stops the reading at
the first one, since nothing after it can be read reliably.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from opencasb.detect import distinct
from opencasb.detect.legacy_match import translate_match
from opencasb.detect.policy import (
    DEFAULT_DAILY_ALERT_LIMIT,
    SINGLE_EPISODE_GAP,
    GroupBy,
    Policy,
    PolicyCategory,
    Repeated,
    Scope,
    Severity,
    Tactic,
)
from opencasb.detect.shared import SharedFilter
from opencasb.enrich.iptags import normalize_tag
from opencasb.errors import ConfigError, DocumentError, Problem
from opencasb.filters import AllOf
from opencasb.filters import parse_filter as parse_filter_document

__all__ = [
    "dump_policies",
    "format_duration",
    "load_policies",
    "parse_duration",
    "placeholders_left",
    "read_policies",
    "refuse_placeholders",
]

log = logging.getLogger(__name__)

_DURATION = re.compile(r"(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``90`` (seconds), ``"30s"``, ``"5m"``, ``"2 hours"``, ``"1d"`` → timedelta.

    Raises:
        ValueError: anything else, or not positive.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text such as 5m, 2h, 1d")
    if isinstance(value, int):
        seconds = value
    else:
        m = _DURATION.fullmatch(str(value).strip().lower())
        if m is None:
            raise ValueError("a duration is a number of seconds or text such as 5m, 2h, 1d")
        seconds = int(m.group(1)) * _UNIT[m.group(2)[0]]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


def format_duration(span: timedelta) -> str:
    """The shortest exact text :func:`parse_duration` reads back (``5m``, ``90s``)."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _tags(values: Any) -> Any:
    if not isinstance(values, list):
        return values
    return [normalize_tag(v) if isinstance(v, str) else v for v in values]


def _tag_list(values: Any) -> Any:
    try:
        return _tags(values)
    except ConfigError as e:
        raise ValueError(str(e)) from None


_Tags = Annotated[list[str], BeforeValidator(_tag_list)]
_Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _parse_gap(value: Any) -> timedelta:
    """:func:`parse_duration`, or zero (``0``, ``0s``): an episode gap of none."""
    if not isinstance(value, bool) and str(value).strip().lower() in ("0", "0s", "0m", "0h", "0d"):
        return timedelta(0)
    return parse_duration(value)


_Gap = Annotated[timedelta, BeforeValidator(_parse_gap)]
_STRICT = ConfigDict(extra="forbid", frozen=True)


class _ScopeModel(BaseModel):
    model_config = _STRICT
    include_users: list[str] = []
    exclude_users: list[str] = []
    include_groups: list[str] = []
    exclude_groups: list[str] = []
    include_ip_tags: _Tags = []
    exclude_ip_tags: _Tags = []


class _RepeatedModel(BaseModel):
    model_config = _STRICT
    threshold: int = Field(ge=1)
    timeframe: _Duration
    group_by: GroupBy = GroupBy.USER
    distinct: str | None = None
    label: str = Field(default="matching activities", min_length=1)


class _PolicyModel(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    name: str = Field(min_length=1)
    description: str = ""
    enabled: bool = True
    template: str | None = None
    severity: Severity
    category: PolicyCategory
    tactic: Tactic | None = None
    technique: str | None = Field(default=None, pattern=r"^T\d{4}(\.\d{3})?$")
    filter: Any = None
    match: Any = None
    repeated: _RepeatedModel | None = None
    scope: _ScopeModel = _ScopeModel()
    daily_alert_limit: int = Field(default=DEFAULT_DAILY_ALERT_LIMIT, ge=1)
    episode_gap: _Gap | None = None


Path_ = tuple[str | int, ...]


class _Located:
    """YAML turned into plain data, with the line and column of every value and key."""

    def __init__(self) -> None:
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.duplicates: list[tuple[Path_, str]] = []

    def build(self, loader: yaml.SafeLoader, node: yaml.Node, path: Path_) -> Any:
        """Plain data of ``node`` at ``path``, noting positions and duplicate keys."""
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=True)
                key = key if isinstance(key, (str, int)) else str(key)
                where = (*path, key)
                if key in out:
                    self.duplicates.append((where, f"{key!r} appears twice; the last one counts"))
                self.keys[where] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = self.build(loader, value_node, where)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(loader, n, (*path, i)) for i, n in enumerate(node.value)]
        return loader.construct_object(node, deep=True)

    def at(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest ancestor that has one."""
        while True:
            if key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if not path:
                return (1, 1)
            path = path[:-1]


def read_policies(text: str, source: str = "<text>") -> list[Policy]:
    """Every policy in YAML ``text``; ``source`` names the file in problems.

    Raises:
        DocumentError: with every problem found.
    """
    problems: list[Problem] = []
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(p for p in (e.context, e.problem) if p) or "not valid YAML"
        raise _error(source, [Problem("", f"not valid YAML: {what}", line, col, source)]) from None
    except yaml.YAMLError as e:
        raise _error(source, [Problem("", f"not valid YAML: {e}", 1, 1, source)]) from None
    finally:
        loader.dispose()
    if node is None:
        return []
    located = _Located()
    data = located.build(loader, node, ())

    def report(
        path: Path_,
        message: str,
        *,
        key: bool = False,
        place: tuple[str, int | None, int | None] | None = None,
    ) -> None:
        line, col = located.at(path, key=key)
        where = _dotted(path)
        if place is not None:  # a filter-language problem: its own place inside the filter
            inner, line_, col_ = place
            where += ("." if inner and not inner.startswith("[") else "") + inner
            if line_ is not None and col_ is not None:
                line, col = line_, col_
        problems.append(Problem(where, message, line, col, source))

    for path, message in located.duplicates:
        report(path, message, key=True)
    items: list[tuple[Path_, Any]]
    if isinstance(data, list):
        items = [((i,), d) for i, d in enumerate(data)]
    elif isinstance(data, dict) and "policies" in data:
        extra = [k for k in data if k != "policies"]
        for k in extra:
            report((k,), f"unknown key {k!r} beside policies", key=True)
        listed = data["policies"]
        if not isinstance(listed, list):
            report(("policies",), "policies must be a list of policies")
            listed = []
        items = [(("policies", i), d) for i, d in enumerate(listed)]
    elif isinstance(data, dict):
        items = [((), data)]
    else:
        report((), "a policy file holds a policy, a list of policies, or policies: [...]")
        items = []

    # Ids are compared as written, before each policy is checked: a policy with other
    # problems still claims its id, so a file with several mistakes reports the reuse too.
    seen: dict[str, Path_] = {}
    reused: set[int] = set()
    for n, (base, item) in enumerate(items):
        pid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(pid, str):
            continue
        if pid in seen:
            report((*base, "id"), f"policy id {pid!r} is used twice in this file")
            reused.add(n)
        else:
            seen[pid] = base
    policies: list[Policy] = []
    for n, (base, item) in enumerate(items):
        policy = _policy(item, base, located, report, source)
        if policy is not None and n not in reused:
            policies.append(policy)
    if problems:
        raise _error(source, problems)
    return policies


def _dotted(path: Path_) -> str:
    """``policies[2].filter.any[0]``: the place of a value, as problems spell it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error(source: str, problems: list[Problem]) -> DocumentError:
    ordered = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
    return DocumentError(
        f"policy file {source}", ordered, fix="correct each place listed and load the file again"
    )


def load_policies(path: Path) -> list[Policy]:
    """Every policy of the YAML file at ``path`` (see :func:`read_policies`).

    Raises:
        DocumentError: with every problem found, or when the file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problem = Problem("", f"cannot read the file: {e}", None, None, str(path))
        raise _error(str(path), [problem]) from None
    return read_policies(text, str(path))


_PLACEHOLDER = re.compile(r"<[^<>]+>")


def _placeholders(data: Any, path: Path_) -> list[tuple[Path_, str]]:
    if isinstance(data, str):
        return [(path, m.group(0)) for m in _PLACEHOLDER.finditer(data)]
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _placeholders(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _placeholders(v, (*path, i))]
    return []


def placeholders_left(definition: str) -> list[tuple[str, str]]:
    """The ``<placeholder>``s left in the policies of the YAML ``definition``, enabled or
    not: (place, placeholder) each, in document order, the place without a one-policy
    file's ``policies[0].`` (``scope.include_users[0]``). None for text that is not YAML
    (reading the definition reports that)."""
    try:
        data = yaml.safe_load(definition)
    except yaml.YAMLError:
        return []
    found = [(re.sub(r"^policies\[0\]\.", "", _dotted(path)), text)
             for path, text in _placeholders(data, ())]  # fmt: skip
    return found


def refuse_placeholders(policy_id: str, definition: str, fix: str) -> None:
    """Nothing when the stored policy ``policy_id`` (its YAML ``definition``) has no
    ``<placeholder>`` left, e.g. a copy of a template stored disabled and never filled in.

    Raises:
        ConfigError: (code ``policy_needs_values``) naming each field to fill in, with
            ``fix``: how to do it in the caller's front end.
    """
    left = placeholders_left(definition)
    if left:
        fields = ", ".join(f"{place} ({text})" for place, text in left)
        raise ConfigError(
            f"policy {policy_id!r} cannot be enabled: fill in "
            f"{'its placeholder' if len(left) == 1 else 'its placeholders'} first: {fields}",
            meaning="A policy with a <placeholder> left would never match what was meant.",
            fix=fix,
            code="policy_needs_values",
        )


def _policy(
    item: Any, base: Path_, located: _Located, report: Callable[..., None], source: str
) -> Policy | None:
    if not isinstance(item, dict):
        report(base, "a policy is a mapping of keys (id, name, severity, filter...)")
        return None
    ok = True
    model: _PolicyModel | None = None
    try:
        model = _PolicyModel.model_validate(item)
    except ValidationError as e:
        ok = False
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                report((*base, *loc), f"unknown key {loc[-1]!r}", key=True)
            elif err["type"] == "missing":
                report((*base, *loc[:-1]), f"{'.'.join(map(str, loc))} is missing")
            else:
                report((*base, *loc), _message(err["msg"]))
    shared: SharedFilter | None = None
    if "filter" in item:
        shared = _shared(item["filter"], (*base, "filter"), located, report)
        ok = ok and shared is not None
    if "match" in item:
        legacy = _legacy(item["match"], (*base, "match"), report)
        ok = ok and legacy is not None
        if legacy is not None and ok:
            line, col = located.at((*base, "match"), key=True)
            log.warning(
                "%s:%d:%d: %s: match: is no longer part of policies; it is read as the "
                "filter language, with the same meaning. Rewrite it as filter: (exporting "
                "the policy writes it so).",
                source,
                line,
                col,
                _dotted((*base, "match")),
            )
            tree = legacy.tree if shared is None else AllOf((shared.tree, legacy.tree))
            shared = SharedFilter(tree)
    if "filter" not in item and "match" not in item:
        report(base, "a policy needs filter: (the filter language)")
        ok = False
    repeated = item.get("repeated")
    if repeated is not None and "episode_gap" in item:
        report(
            (*base, "episode_gap"),
            "episode_gap is for single-activity policies: a repeated one's alerts follow "
            "its timeframe (remove one of the two)",
            key=True,
        )
        ok = False
    if isinstance(repeated, dict) and isinstance(repeated.get("distinct"), str):
        why = distinct.problem(repeated["distinct"])
        if why is not None:
            report((*base, "repeated", "distinct"), why)
            ok = False
    if item.get("enabled", True) is True:
        for path, text in _placeholders(item, base):
            report(path, f"replace the placeholder {text} before enabling this policy")
            ok = False
    if not ok or model is None:
        return None
    return _to_policy(model, shared)


def _legacy(data: Any, path: Path_, report: Callable[..., None]) -> SharedFilter | None:
    """``match:`` at ``path`` as the filter language; its problems reported in place."""
    doc, issues = translate_match(data, path)
    for where, message, on_key in issues:
        report(where, message, key=on_key)
    if doc is None:
        return None
    try:
        return SharedFilter(parse_filter_document(doc))
    except DocumentError as e:
        for problem in e.problems:
            report(
                path,
                f"{problem.message} (read as the filter language: {problem.path}); "
                "rewrite it as filter:",
            )
        return None


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _shared(
    data: Any, path: Path_, located: _Located, report: Callable[..., None]
) -> SharedFilter | None:
    """The shared-language filter at ``path``; its problems reported with their places."""
    n = len(path)
    marks = {p[n:]: m for p, m in located.values.items() if p[:n] == path}
    keys = {p[n:]: m for p, m in located.keys.items() if p[:n] == path}
    try:
        return SharedFilter(parse_filter_document(data, marks=marks, key_marks=keys))
    except DocumentError as e:
        for problem in e.problems:
            report_at(report, path, problem)
        return None


def report_at(report: Callable[..., None], path: Path_, problem: Problem) -> None:
    """Report a filter-language problem (its place relative to ``path``) as the file's."""
    report(path, problem.message, place=(problem.path, problem.line, problem.column))


def _to_policy(m: _PolicyModel, shared: SharedFilter | None) -> Policy:
    s = m.scope
    return Policy(
        id=m.id,
        name=m.name,
        description=m.description,
        enabled=m.enabled,
        template=m.template,
        severity=m.severity,
        category=m.category,
        tactic=m.tactic,
        technique=m.technique,
        filter=shared,
        repeated=(
            Repeated(
                threshold=m.repeated.threshold,
                timeframe=m.repeated.timeframe,
                group_by=m.repeated.group_by,
                distinct=m.repeated.distinct,
                label=m.repeated.label,
            )
            if m.repeated is not None
            else None
        ),
        scope=Scope(
            include_users=frozenset(u.casefold() for u in s.include_users),
            exclude_users=frozenset(u.casefold() for u in s.exclude_users),
            include_groups=frozenset(g.casefold() for g in s.include_groups),
            exclude_groups=frozenset(g.casefold() for g in s.exclude_groups),
            include_ip_tags=frozenset(s.include_ip_tags),
            exclude_ip_tags=frozenset(s.exclude_ip_tags),
        ),
        daily_alert_limit=m.daily_alert_limit,
        episode_gap=SINGLE_EPISODE_GAP if m.episode_gap is None else m.episode_gap,
    )


def policy_to_data(policy: Policy) -> dict[str, Any]:
    """A policy as the plain data its YAML form holds (defaults left out)."""
    out: dict[str, Any] = {"id": policy.id, "name": policy.name}
    if policy.description:
        out["description"] = policy.description
    out["enabled"] = policy.enabled
    if policy.template:
        out["template"] = policy.template
    out["severity"] = policy.severity.value
    out["category"] = policy.category.value
    if policy.tactic is not None:
        out["tactic"] = policy.tactic.value
    if policy.technique is not None:
        out["technique"] = policy.technique
    if policy.filter is not None:
        out["filter"] = policy.filter.to_data()
    rep = policy.repeated
    if rep is not None:
        r: dict[str, Any] = {
            "threshold": rep.threshold,
            "timeframe": format_duration(rep.timeframe),
            "group_by": rep.group_by.value,
        }
        if rep.distinct:
            r["distinct"] = rep.distinct
        r["label"] = rep.label
        out["repeated"] = r
    scope = {
        name: sorted(getattr(policy.scope, name))
        for name in _ScopeModel.model_fields
        if getattr(policy.scope, name)
    }
    if scope:
        out["scope"] = scope
    if policy.daily_alert_limit != DEFAULT_DAILY_ALERT_LIMIT:
        out["daily_alert_limit"] = policy.daily_alert_limit
    if policy.episode_gap != SINGLE_EPISODE_GAP:
        out["episode_gap"] = format_duration(policy.episode_gap) if policy.episode_gap else "0s"
    return out


def dump_policies(policies: Sequence[Policy]) -> str:
    """YAML that :func:`read_policies` reads back to the same policies."""
    data: Mapping[str, Any] = {"policies": [policy_to_data(p) for p in policies]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


__all__ += ["policy_to_data"]
