"""A converted Sigma rule as an activity policy: id, name, severity, ATT&CK labels and the
note every alert carries (which rule, which file, its description and references)."""

from __future__ import annotations

from typing import Final

from sigma.rule import SigmaLevel
from sigma.rule.base import SigmaRuleBase

from opencasb.detect.policy import (
    Policy,
    PolicyCategory,
    Repeated,
    Severity,
    Tactic,
    is_technique,
)
from opencasb.detect.shared import SharedFilter
from opencasb.filters import Filter

__all__ = ["make_policy", "note", "rule_id"]

_SEVERITY: Final = {
    SigmaLevel.INFORMATIONAL: Severity.INFORMATIONAL,
    SigmaLevel.LOW: Severity.LOW,
    SigmaLevel.MEDIUM: Severity.MEDIUM,
    SigmaLevel.HIGH: Severity.HIGH,
    SigmaLevel.CRITICAL: Severity.HIGH,
}
_TACTICS: Final = {t.value: t for t in Tactic}


def rule_id(rule: SigmaRuleBase) -> str:
    return str(rule.id) if rule.id is not None else (rule.name or "")


def _labels(rule: SigmaRuleBase) -> tuple[Tactic | None, str | None]:
    tactic: Tactic | None = None
    technique: str | None = None
    for tag in rule.tags:
        if tag.namespace.casefold() != "attack":
            continue
        name = tag.name.casefold().replace("-", "_")
        if tactic is None and name in _TACTICS:
            tactic = _TACTICS[name]
        upper = tag.name.upper()
        if technique is None and is_technique(upper):
            technique = upper
    return tactic, technique


def note(rule: SigmaRuleBase, file: str) -> str:
    """What every alert of the rule says about it: which rule, which file, and its text."""
    text = f"Sigma rule {rule_id(rule) or repr(rule.title)} ({file})"
    if rule.level is not None and rule.level is SigmaLevel.CRITICAL:
        text += ", level critical"
    if rule.description:
        text += f": {' '.join(rule.description.split())}"
    if rule.references:
        text += f" References: {', '.join(rule.references)}"
    return text


def make_policy(
    rule: SigmaRuleBase, file: str, flt: Filter, repeated: Repeated | None = None
) -> Policy:
    """The policy of a converted rule (module docstring)."""
    tactic, technique = _labels(rule)
    return Policy(
        id=f"sigma.{rule_id(rule)}",
        name=f"Sigma: {rule.title}",
        severity=_SEVERITY.get(rule.level, Severity.MEDIUM)
        if rule.level is not None
        else Severity.MEDIUM,
        category=PolicyCategory.THREAT_DETECTION,
        tactic=tactic,
        technique=technique,
        description=note(rule, file),
        filter=SharedFilter(flt),
        repeated=repeated,
        note=note(rule, file),
    )
