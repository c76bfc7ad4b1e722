"""Labelled attack scenarios and benign look-alikes injected into the sandbox's Okta System
Log and Office 365 audit log, with the ground truth a detection can be scored against.

* :func:`plan_scenarios` — plan every scenario for an org, a window and a seed.
* :class:`ScenarioPlan` — the records to inject (in the emulators' orders) and the truth.
* :func:`sandbox_plan` — the plan ``opencasb sandbox`` and ``opencasb demo`` serve.
* :func:`write_ground_truth` — write ``ground-truth.json``.
"""

from opencasb.sandbox.scenarios.model import GroundTruth, Injection, ScenarioPlan
from opencasb.sandbox.scenarios.plan import SCENARIOS, plan_scenarios, sandbox_plan
from opencasb.sandbox.scenarios.truth_file import GROUND_TRUTH_FILE, write_ground_truth

__all__ = [
    "GROUND_TRUTH_FILE",
    "SCENARIOS",
    "GroundTruth",
    "Injection",
    "ScenarioPlan",
    "plan_scenarios",
    "sandbox_plan",
    "write_ground_truth",
]
