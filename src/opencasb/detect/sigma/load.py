"""Sigma rule files in, activity policies and problems out.

:func:`load_rules` reads every ``*.yml``/``*.yaml`` below a folder (sorted, recursively),
parses each file with pySigma (:class:`~sigma.collection.SigmaCollection`, errors collected,
not raised), applies the field-mapping pipeline (:mod:`.fields`), converts each rule's
condition (:mod:`.convert`) and builds a :class:`~opencasb.detect.policy.Policy`:

* id ``sigma.<rule id>``, name ``Sigma: <title>``, single activity;
* severity from ``level`` (``critical`` is ``high``, the highest OpenCASB has);
* MITRE ATT&CK tactic and technique from the ``attack.*`` tags (the first of each);
* a note in every alert's explanation naming the rule, its file, its description and
  references.

Correlation rules (``event_count`` and ``value_count`` over one or more rules, ``group-by``
the user or the source address, ``gt``/``gte``) become repeated-activity policies; the other
kinds are reported (:mod:`.correlate`).

Contract: every rule that is not evaluated is in :attr:`SigmaLoad.problems` with its file
(and line, for YAML errors), title, id and reason; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaRuleBase

from opencasb.detect.policy import Policy
from opencasb.detect.sigma.build import make_policy, rule_id
from opencasb.detect.sigma.convert import Converter
from opencasb.detect.sigma.correlate import correlation_policy
from opencasb.detect.sigma.fields import app_guard, logsource_problem, pipeline
from opencasb.errors import DocumentError
from opencasb.filters import AllOf, AnyOf, Condition, Filter, Op, check

__all__ = ["LoadedRule", "SigmaLoad", "SigmaProblem", "load_rules"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SigmaProblem:
    """A rule (or a file) that is not evaluated, and why."""

    file: str
    reason: str
    title: str = ""
    rule_id: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        who = f" rule {self.title!r}" if self.title else ""
        if self.rule_id:
            who += f" ({self.rule_id})"
        return f"{where}:{who} {self.reason}" if who else f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A rule that evaluates: its policy, where it came from and its filter."""

    policy: Policy
    file: str
    title: str
    rule_id: str
    logsource: str
    correlation: str = ""  # the correlation type, for correlation rules


@dataclass(frozen=True, slots=True)
class SigmaLoad:
    """What a folder of rules gave: the rules that evaluate and every problem."""

    rules: tuple[LoadedRule, ...] = ()
    problems: tuple[SigmaProblem, ...] = ()
    files: int = 0

    @property
    def policies(self) -> list[Policy]:
        return [r.policy for r in self.rules]


@dataclass
class _Parsed:
    """One parsed (not yet converted) rule of a file."""

    rule: SigmaRuleBase
    file: str


@dataclass
class _Work:
    rules: list[LoadedRule] = field(default_factory=list)
    problems: list[SigmaProblem] = field(default_factory=list)
    filters: dict[str, tuple[Filter, str]] = field(default_factory=dict)  # rule id -> filter


def _files(folder: Path) -> list[Path]:
    found = [p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()]
    return sorted(found)


def describe_logsource(rule: SigmaRule) -> str:
    ls = rule.logsource
    parts = [f"{k}: {v}" for k, v in (("product", ls.product), ("service", ls.service)) if v]
    if ls.category:
        parts.insert(0, f"category: {ls.category}")
    return ", ".join(parts) or "none"


def _convert(rule: SigmaRule) -> tuple[Filter | None, list[str]]:
    """The rule's filter (with its app guard), or the reasons it has none."""
    reason = logsource_problem(rule.logsource)
    if reason is not None:
        return None, [reason]
    conv = Converter(describe_logsource(rule))
    conv.modifiers(rule)  # before the pipeline: the problem names the rule's own field
    try:
        pipeline().apply(rule)
    except SigmaError as exc:
        return None, [f"field mapping failed: {_message(exc)}"]
    parts: list[Filter] = []
    for cond in rule.detection.parsed_condition:
        try:
            tree = cond.parse()
        except SigmaError as exc:
            conv.problems.append(f"condition {cond.condition!r}: {_message(exc)}")
            continue
        flt = conv.condition(tree)
        if flt is not None:
            parts.append(flt)
    if conv.problems:
        return None, conv.problems
    app, workloads = app_guard(rule.logsource)
    guard: list[Filter] = [Condition("app", Op.EQUALS, app)]
    if workloads:
        guard.append(Condition("raw.Workload", Op.IN, workloads, True))
    body: Filter = parts[0] if len(parts) == 1 else AnyOf(tuple(parts))
    try:
        return check(AllOf((*guard, body))), []
    except DocumentError as exc:
        return None, [f"the converted filter is not valid: {exc}"]


def _parse_file(path: Path, shown: str, work: _Work) -> list[_Parsed]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        work.problems.append(SigmaProblem(shown, f"cannot read the file: {exc}"))
        return []
    try:
        # References are resolved here, across the folder, not by pySigma within one file:
        # a correlation may name a rule of another file, and one that names no rule must
        # not take the other rules of its file down with it.
        collection = SigmaCollection.from_yaml(
            text, collect_errors=True, source=SigmaRuleLocation(path), resolve_references=False
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        work.problems.append(SigmaProblem(shown, f"YAML error: {problem}", line=line))
        return []
    except SigmaError as exc:
        work.problems.append(SigmaProblem(shown, f"Sigma error: {_message(exc)}"))
        return []
    except Exception as exc:  # a user's file must not stop detection
        log.exception("Sigma file %s: unexpected failure", shown)
        work.problems.append(SigmaProblem(shown, f"cannot be read ({type(exc).__name__}: {exc})"))
        return []
    parsed: list[_Parsed] = []
    bad = {id(e) for r in collection.rules for e in r.errors}
    for error in collection.errors:
        if id(error) not in bad:
            work.problems.append(SigmaProblem(shown, f"Sigma error: {_message(error)}"))
    for rule in collection.rules:
        if rule.errors:
            reasons = "; ".join(dict.fromkeys(_message(e) for e in rule.errors))
            work.problems.append(
                SigmaProblem(shown, f"Sigma error: {reasons}", rule.title, rule_id(rule))
            )
            continue
        parsed.append(_Parsed(rule, shown))
    return parsed


def _message(exc: SigmaError) -> str:
    """The error's text without pySigma's absolute ' in /path' suffix (the file is shown)."""
    return str(exc.args[0]) if exc.args else type(exc).__name__


def load_rules(folder: Path) -> SigmaLoad:
    """Every rule below ``folder`` (module contract). A missing folder is one problem."""
    if not folder.is_dir():
        return SigmaLoad(problems=(SigmaProblem(str(folder), "no such folder"),))
    work = _Work()
    files = _files(folder)
    parsed: list[_Parsed] = []
    for path in files:
        parsed += _parse_file(path, str(path.relative_to(folder)), work)
    correlations: list[_Parsed] = []
    seen: dict[str, str] = {}
    # Rules a correlation names raise no alerts of their own unless it says "generate: true".
    quiet = {
        ref.reference
        for item in parsed
        if isinstance(item.rule, SigmaCorrelationRule) and not item.rule.generate
        for ref in item.rule.rules or []
    }
    for item in parsed:
        rule = item.rule
        if isinstance(rule, SigmaCorrelationRule):
            correlations.append(item)
            continue
        if not isinstance(rule, SigmaRule):
            work.problems.append(
                SigmaProblem(item.file, "unsupported document (not a rule)", rule.title)
            )
            continue
        rid = rule_id(rule)
        try:
            flt, reasons = _convert(rule)
        except Exception as exc:  # a user's file must not stop detection
            log.exception("Sigma rule %s in %s: unexpected failure", rid, item.file)
            flt, reasons = None, [f"cannot be converted ({type(exc).__name__}: {exc})"]
        if flt is None:
            for reason in reasons:
                work.problems.append(SigmaProblem(item.file, reason, rule.title, rid))
            continue
        product = (rule.logsource.product or "").casefold()
        work.filters[rid] = (flt, product)
        if rule.name:
            work.filters[rule.name] = (flt, product)
        if rid in quiet or (rule.name and rule.name in quiet):
            continue  # referenced by a correlation only
        _add(work, seen, item, make_policy(rule, item.file, flt), describe_logsource(rule))
    for item in correlations:
        rule = item.rule
        assert isinstance(rule, SigmaCorrelationRule)
        policy, reason = correlation_policy(rule, item.file, work.filters)
        if policy is None:
            work.problems.append(SigmaProblem(item.file, reason, rule.title, rule_id(rule)))
            continue
        _add(work, seen, item, policy, "correlation", correlation=str(rule.type))
    return SigmaLoad(tuple(work.rules), tuple(work.problems), len(files))


def _add(
    work: _Work,
    seen: dict[str, str],
    item: _Parsed,
    policy: Policy,
    logsource: str,
    correlation: str = "",
) -> None:
    rid = rule_id(item.rule)
    if not rid:
        work.problems.append(
            SigmaProblem(item.file, "the rule has no id: alerts need a stable one", item.rule.title)
        )
        return
    if rid in seen:
        work.problems.append(
            SigmaProblem(item.file, f"duplicate rule id, also in {seen[rid]}", item.rule.title, rid)
        )
        return
    seen[rid] = item.file
    work.rules.append(LoadedRule(policy, item.file, item.rule.title, rid, logsource, correlation))


def log_problems(problems: Iterable[SigmaProblem]) -> None:
    for p in problems:
        log.warning("Sigma rule not evaluated: %s", p)
