"""The activity policy, in the commercial product's model (mcas-features.md §3.2).

A policy is a filter over activities plus what to do with the matches:

* **single activity**: every matching activity is a finding;
* **repeated activity** (:class:`Repeated`): more than ``threshold`` matches (or distinct
  values of one field) within ``timeframe``, grouped by user in one app, by user across apps
  (the actor linked by e-mail), or by source address.

and how to label, scope and limit them: severity, category, MITRE ATT&CK tactic and
technique, :class:`Scope` (users, groups, IP tags), a daily alert limit. Everything here is an
immutable value; the YAML edge (:mod:`opencasb.detect.policy_file`) builds them, the engine
(:mod:`opencasb.detect.engine`) evaluates them.

What a policy matches is its ``filter``, a :class:`Predicate`: from files and the store, the
shared filter language (:mod:`opencasb.filters`, the language of ``opencasb activities
--filter``, Sigma mapping and the portal; see :class:`opencasb.detect.shared.SharedFilter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity

__all__ = [
    "SINGLE_EPISODE_GAP",
    "GroupBy",
    "Policy",
    "PolicyCategory",
    "Predicate",
    "Repeated",
    "Scope",
    "Severity",
    "Tactic",
    "is_technique",
]


@runtime_checkable
class Predicate(Protocol):
    """A filter over activities and their enrichment (None when not enriched).

    Contract: ``matches`` is pure and total (never raises on an odd activity: a field that is
    missing simply does not match); ``to_data`` returns the JSON/YAML-ready form that the
    policy file reads back to an equal predicate.
    """

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool: ...

    def to_data(self) -> Any: ...


class Severity(StrEnum):
    """How bad a finding is; ordered from least to most severe."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class PolicyCategory(StrEnum):
    """The risk category (the product's alert ``stories``)."""

    THREAT_DETECTION = "threat_detection"
    PRIVILEGED_ACCOUNTS = "privileged_accounts"
    COMPLIANCE = "compliance"
    DLP = "dlp"
    DISCOVERY = "discovery"
    SHARING_CONTROL = "sharing_control"
    ACCESS_CONTROL = "access_control"
    CONFIGURATION_MONITORING = "configuration_monitoring"


class Tactic(StrEnum):
    """MITRE ATT&CK enterprise tactics (the ``intent`` of an alert)."""

    RECONNAISSANCE = "reconnaissance"
    RESOURCE_DEVELOPMENT = "resource_development"
    INITIAL_ACCESS = "initial_access"
    EXECUTION = "execution"
    PERSISTENCE = "persistence"
    PRIVILEGE_ESCALATION = "privilege_escalation"
    DEFENSE_EVASION = "defense_evasion"
    CREDENTIAL_ACCESS = "credential_access"
    DISCOVERY = "discovery"
    LATERAL_MOVEMENT = "lateral_movement"
    COLLECTION = "collection"
    COMMAND_AND_CONTROL = "command_and_control"
    EXFILTRATION = "exfiltration"
    IMPACT = "impact"


_TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")


def is_technique(text: str) -> bool:
    """True for an ATT&CK technique id: ``T1110`` or a sub-technique ``T1110.003``."""
    return _TECHNIQUE.fullmatch(text) is not None


class GroupBy(StrEnum):
    """Whose activities a repeated-activity policy counts together.

    * ``user``: one actor in one app instance (the product's "in a single app");
    * ``user_across_apps``: one person in every app, linked by the actor's e-mail (an actor
      without an e-mail stays per app);
    * ``source_ip``: one source address, whoever the actors are (password spray).
    """

    USER = "user"
    USER_ACROSS_APPS = "user_across_apps"
    SOURCE_IP = "source_ip"


@dataclass(frozen=True, slots=True)
class Repeated:
    """Repeated activity: more than ``threshold`` within ``timeframe``.

    With ``distinct`` (a field path such as ``actor.email``), what is counted is the number of
    distinct values of that field among the matches (distinct target users), not the matches.
    ``label`` names what is counted, in the plural, for explanations ("failed sign-ins").
    """

    threshold: int
    timeframe: timedelta
    group_by: GroupBy = GroupBy.USER
    distinct: str | None = None
    label: str = "matching activities"

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be at least 1")
        if self.timeframe <= timedelta(0):
            raise ValueError("timeframe must be positive")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whom a policy applies to. Empty ``include_*`` means everyone; ``exclude_*`` wins.

    Users are matched on the actor's e-mail, id or name, without regard to case. Groups need
    a directory (:class:`opencasb.detect.engine.Directory`); IP tags come with each observed
    activity (the enrichment's tags of its source address).
    """

    include_users: frozenset[str] = frozenset()
    exclude_users: frozenset[str] = frozenset()
    include_groups: frozenset[str] = frozenset()
    exclude_groups: frozenset[str] = frozenset()
    include_ip_tags: frozenset[str] = frozenset()
    exclude_ip_tags: frozenset[str] = frozenset()

    @property
    def needs_groups(self) -> bool:
        return bool(self.include_groups or self.exclude_groups)


DEFAULT_DAILY_ALERT_LIMIT = 100

SINGLE_EPISODE_GAP = timedelta(hours=1)
"""A single-activity policy's default ``episode_gap``: one user's findings no more than this
apart extend one alert (three MFA resets of one account in ten minutes are one alert)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """One activity policy.

    An activity matches when ``filter`` holds (it is required).
    ``repeated`` None means single activity. ``daily_alert_limit`` caps the findings of one
    UTC day (of event time) per policy; the rest are counted, not raised. ``episode_gap``
    (single activity only): one user's findings no more than this apart extend one alert;
    zero: an alert per activity (a repeated policy's episodes follow its timeframe).
    ``template`` names the template the policy was made from, if any; ``note`` is added to
    the explanation of each of its findings.
    """

    id: str
    name: str
    severity: Severity
    category: PolicyCategory
    tactic: Tactic | None = None
    technique: str | None = None
    description: str = ""
    enabled: bool = True
    filter: Predicate | None = None
    repeated: Repeated | None = None
    scope: Scope = field(default_factory=Scope)
    daily_alert_limit: int = DEFAULT_DAILY_ALERT_LIMIT
    episode_gap: timedelta = SINGLE_EPISODE_GAP
    template: str | None = None
    # Appended to every finding's explanation: where a policy that is not stored comes from
    # (a Sigma rule's id, file, description and references). Not part of a policy file.
    note: str = ""

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        """Whether the activity passes the filter (not the scope)."""
        return self.filter is not None and self.filter.matches(activity, enrichment)

    def __post_init__(self) -> None:
        if self.filter is None:
            raise ValueError("a policy needs a filter")
        if self.technique is not None and not is_technique(self.technique):
            raise ValueError(f"{self.technique!r} is not an ATT&CK technique id (T1234[.567])")
        if self.daily_alert_limit < 1:
            raise ValueError("daily_alert_limit must be at least 1")
        if self.episode_gap < timedelta(0):
            raise ValueError("episode_gap cannot be negative")
        if self.repeated is not None and self.episode_gap != SINGLE_EPISODE_GAP:
            raise ValueError(
                "episode_gap applies to single-activity policies: a repeated one's alerts "
                "follow its timeframe"
            )
