"""Activity by a suspended or deprovisioned user."""

from __future__ import annotations

import dataclasses

from tests.detect.anomaly.helpers import DAY, HOUR, T0, o365, okta, where

from opencasb.clock import FakeClock
from opencasb.detect.anomaly import AnomalyEngine, AnomalyState
from opencasb.detect.engine import Finding, Observed
from opencasb.model.activity import Activity, Category, Outcome, Target

DU = "anomaly.disabled_user_activity"


def lifecycle(at: float, event: str, target: str = "ana@example.com") -> Activity:
    a = okta(at, "admin@example.com", event)
    return dataclasses.replace(
        a, category=Category.USER_MANAGEMENT,
        targets=(Target(id="00u1", type="User", name="Ana", alternate_id=target),),
    )  # fmt: skip


def run(items: list[Activity], status: dict[str, str] | None = None) -> list[Finding]:
    engine = AnomalyEngine(clock=FakeClock(T0), user_status=status)
    observed = [(Observed(i + 1, a), where("Paris")) for i, a in enumerate(items)]
    return [f for f in engine.evaluate(observed, AnomalyState())[0] if f.policy_id == DU]


def test_office365_sign_in_after_an_okta_suspension() -> None:
    found = run([
        okta(0),
        lifecycle(HOUR, "user.lifecycle.suspend"),
        okta(HOUR + 60, outcome=Outcome.FAILURE),  # the block working: not a finding
        o365(3 * HOUR),
        o365(3 * HOUR + 60),  # same day: the same finding's story
        lifecycle(DAY, "user.lifecycle.unsuspend"),
        okta(DAY + 60),
    ])  # fmt: skip
    (f,) = found
    assert f.activity_ids == (2, 4)
    assert f.explanation == (
        "ana@example.com (office365: sign-in) while suspended by admin@example.com 120 min earlier"
    )


def test_inventory_status_covers_users_disabled_before_the_history() -> None:
    (f,) = run([o365(0)], {"ana@example.com": "DEPROVISIONED"})
    assert f.explanation.endswith("while deprovisioned in the user inventory")
    assert run([o365(0)], {"ana@example.com": "ACTIVE"}) == []


MR = "anomaly.mfa_reenrolment"


def _reenrol(enrol_city: str, *, reset_by: str = "helpdesk@example.com") -> list[Finding]:
    """Eight days at home in Paris, a reset of Ana's factors, a sign-in and an enrolment
    from ``enrol_city`` an hour later."""
    from tests.detect.anomaly.helpers import history
    from tests.detect.anomaly.helpers import run as run_all

    reset = dataclasses.replace(
        okta(8 * DAY, reset_by, "user.mfa.factor.reset_all"), category=Category.USER_MANAGEMENT,
        targets=(Target(id="00u1", type="User", name="Ana", alternate_id="ana@example.com"),),
    )  # fmt: skip
    items = [
        *history(8),
        (reset, where("Paris", "vpn")),
        (okta(8 * DAY + HOUR), where(enrol_city)),
        (okta(8 * DAY + HOUR + 60, event="user.mfa.factor.activate"), where(enrol_city)),
    ]
    return [f for f in run_all(items)[0] if f.policy_id == MR]


def test_factor_enrolled_abroad_after_a_reset_by_someone_else() -> None:
    (f,) = _reenrol("Lagos")
    assert f.activity_ids == (9, 11)
    assert f.severity == "high"
    assert f.explanation == (
        "ana@example.com's factors were reset by helpdesk@example.com, and 61 min later a new "
        "factor was enrolled from Lagos, NG (198.51.100.10), a country this user does not "
        "usually sign in from (usual: FR)"
    )


def test_reenrolment_at_home_or_after_resetting_ones_own_factors_is_routine() -> None:
    assert _reenrol("Paris") == []
    assert _reenrol("Lagos", reset_by="ana@example.com") == []
