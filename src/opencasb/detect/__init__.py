"""Detection: activity policies (this part), evaluated after the store, never inside ingest.

* :class:`Policy` — the policy model: ``filter`` in the shared filter language
  (:class:`SharedFilter`), single or repeated activity, labels, scope, daily alert limit;
  :class:`Predicate` is what a filter must provide.
* :class:`PolicyEngine` — ``evaluate(observed, state) -> (findings, new_state)``, pure;
  :class:`EngineState` serialises to JSON for the stage runner to commit with its cursor.
* :func:`read_policies` / :func:`load_policies` / :func:`dump_policies` — YAML, with every
  problem of a file reported with its line and column (:class:`~opencasb.errors.DocumentError`).
* :func:`load_templates` — the shipped templates a user can switch on.
"""

from opencasb.detect.engine import (
    MAX_MATCHES_PER_BLOCK,
    MAX_MATCHES_PER_DAY,
    Directory,
    Finding,
    Observed,
    PolicyEngine,
)
from opencasb.detect.policy import (
    GroupBy,
    Policy,
    PolicyCategory,
    Predicate,
    Repeated,
    Scope,
    Severity,
    Tactic,
)
from opencasb.detect.policy_file import dump_policies, load_policies, read_policies
from opencasb.detect.shared import SharedFilter
from opencasb.detect.state import EngineState
from opencasb.detect.templates import load_templates, template

__all__ = [
    "MAX_MATCHES_PER_BLOCK",
    "MAX_MATCHES_PER_DAY",
    "Directory",
    "EngineState",
    "Finding",
    "GroupBy",
    "Observed",
    "Policy",
    "PolicyCategory",
    "PolicyEngine",
    "Predicate",
    "Repeated",
    "Scope",
    "Severity",
    "SharedFilter",
    "Tactic",
    "dump_policies",
    "load_policies",
    "load_templates",
    "read_policies",
    "template",
]
