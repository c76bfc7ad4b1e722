"""What the Policies pages do: read one policy from the editor, save it, and preview what a
draft would have matched over recent stored activity (nothing is stored by a preview).

The editor holds one policy in the policy file format (:mod:`opencasb.detect.policy_file`),
as ``opencasb policies import`` reads it; saving goes through
:func:`opencasb.detect.stage.store_policy`, as the CLI and the API save.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import yaml

from opencasb.clock import Clock
from opencasb.detect.engine import Observed, PolicyEngine
from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import dump_policies, read_policies
from opencasb.detect.state import EngineState
from opencasb.enrich import Enricher
from opencasb.errors import ConfigError
from opencasb.model.activity import Activity
from opencasb.store import ActivityQuery, Store

__all__ = [
    "Preview",
    "alert_counts",
    "as_yaml",
    "draft_from_filter",
    "enabled",
    "one_policy",
    "preview",
]

PREVIEW_MAX_SCANNED = 200_000
PREVIEW_SHOWN = 50


def one_policy(definition: str) -> Policy:
    """The one policy in the editor's YAML.

    Raises:
        DocumentError: with every problem and its line; ConfigError: not exactly one.
    """
    policies = read_policies(definition, "the editor")
    if len(policies) != 1:
        raise ConfigError(
            f"the editor holds {len(policies)} policies, not one", fix="keep one policy"
        )
    return policies[0]


def draft_from_filter(filter_yaml: str) -> str:
    """A new policy's YAML around a filter document (the activity log's search)."""
    data = yaml.safe_load(filter_yaml) if filter_yaml.strip() else {"field": "app", "is_set": True}
    draft = {
        "id": "my-policy",
        "name": "My policy",
        "description": "What this policy looks for, and why it matters.",
        "enabled": True,
        "severity": "medium",
        "category": "threat_detection",
        "filter": data,
    }
    return yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=100)


def as_yaml(policy: Policy) -> str:
    return dump_policies([policy])


def alert_counts(store: Store) -> Counter[str]:
    """Alerts raised so far per policy id."""
    return Counter(store.detection.count_alerts_by("policy_id"))


@dataclass(frozen=True, slots=True)
class PreviewAlert:
    title: str
    severity: str
    entity: str
    explanation: str
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class Preview:
    """A draft's matches over ``days`` days: how many, the newest, the alerts it raises."""

    days: int
    scanned: int
    matched: int
    truncated: bool
    newest: list[Activity]
    alerts: list[PreviewAlert]


def preview(
    store: Store, enricher: Enricher, policy: Policy, clock: Clock, days: int = 7
) -> Preview:
    """Run the draft ``policy`` over the stored activities of the last ``days`` days."""
    now = clock.now()
    policy = dataclasses.replace(policy, enabled=True)
    matched: list[Activity] = []
    scanned = 0
    truncated = False
    for a in store.iter_activities(ActivityQuery(since=now - timedelta(days=days), until=now)):
        scanned += 1
        if policy.matches(a, enricher.enrich(a)):
            matched.append(a)
        if scanned >= PREVIEW_MAX_SCANNED:
            truncated = True
            break
    matched.reverse()  # oldest first, as the engine reads them
    observed = [Observed(i, a, enricher.enrich(a)) for i, a in enumerate(matched)]
    findings, _ = PolicyEngine([policy], clock=clock).evaluate(observed, EngineState())
    alerts = [
        PreviewAlert(f.policy_name, f.severity, f.entity, f.explanation, f.count, f.first, f.last)
        for f in findings
    ]
    newest = list(reversed(matched[-PREVIEW_SHOWN:]))
    return Preview(days, scanned, len(matched), truncated, newest, alerts)


def enabled(policy: Policy) -> Policy:
    """``policy`` switched on (a template is stored disabled)."""
    return dataclasses.replace(policy, enabled=True)
