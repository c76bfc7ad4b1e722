"""Anonymous and suspicious IPs, password spray, MFA fatigue and failed sign-ins."""

from __future__ import annotations

from tests.detect.anomaly.helpers import DAY, HOUR, history, ids, o365, okta, run, where

from opencasb.detect.anomaly import AnomalySettings, Sensitivity
from opencasb.model.activity import Outcome

LATER = 8 * DAY + 2 * HOUR
FAIL = Outcome.FAILURE


def test_tor_sign_in_alerts_once_a_day_and_failures_do_not() -> None:
    tor = where("Paris", "tor")
    items = [
        (okta(0, outcome=FAIL, ip="185.220.101.1"), tor),
        (okta(60, ip="185.220.101.1"), tor),
        (okta(120, ip="185.220.101.1"), tor),
        (okta(DAY + 60, ip="185.220.101.1"), tor),
    ]
    found, _ = run(items)
    assert ids(found, "anomaly.anonymous_ip") == [(2,), (4,)]
    assert "185.220.101.1 in Paris, FR, a Tor exit relay" in found[0].explanation


def test_threat_intel_sign_in_is_suspicious_and_an_ordinary_one_is_not() -> None:
    items = [(okta(0, ip="1.2.3.4"), where("Paris", "threat_intel")), (okta(9), where("Paris"))]
    found, _ = run(items)
    assert ids(found, "anomaly.suspicious_ip") == [(1,)]
    assert found[0].severity == "high"


def _spray(n: int, ip: str = "45.9.148.3", gap: float = 10) -> list:  # type: ignore[type-arg]
    return [
        (okta(i * gap, f"u{i}@example.com", outcome=FAIL, ip=ip), where("Paris")) for i in range(n)
    ]


def test_password_spray_from_one_address() -> None:
    found, state = run(_spray(25))
    spray = [f for f in found if f.policy_id == "anomaly.password_spray"]
    assert [len(f.users) for f in spray] == [10, 10]
    assert spray[0].entity == "45.9.148.3" and spray[0].entity_kind == "ip"
    assert spray[1].continues and spray[1].episode == spray[0].episode
    assert spray[0].explanation.startswith(
        "10 users failed to sign in from 45.9.148.3 within 2 min"
    )
    assert len(state.to_json()) < 10_000


def test_nine_users_or_a_slow_spray_is_quiet() -> None:
    assert ids(run(_spray(9))[0], "anomaly.password_spray") == []
    slow = _spray(12, gap=HOUR / 5)  # 5 an hour: never 10 in the window
    assert ids(run(slow)[0], "anomaly.password_spray") == []
    assert (
        len(
            ids(
                run(slow, AnomalySettings(sensitivity=Sensitivity.HIGH))[0],
                "anomaly.password_spray",
            )
        )
        >= 1
    )


def _push_bombing(pushes: int, at: float = LATER) -> list:  # type: ignore[type-arg]
    out = []
    for i in range(pushes):
        out.append((okta(at + i * 60, event="system.push.send_factor_verify_push"), where("Lagos")))
        out.append(
            (
                okta(at + i * 60 + 30, event="user.mfa.okta_verify.deny_push", outcome=FAIL),
                where("Lagos"),
            )
        )
    out.append((okta(at + pushes * 60, event="user.authentication.auth_via_mfa"), where("Lagos")))
    out.append((okta(at + pushes * 60 + 1), where("Lagos")))
    return out


def test_mfa_fatigue_push_bombing_then_success() -> None:
    found, _ = run(_push_bombing(8))
    (f,) = [f for f in found if f.policy_id == "anomaly.mfa_fatigue"]
    assert len(f.activity_ids) == 17  # 16 prompts and refusals, then the accepted factor
    assert "was sent 8 push prompt(s) and refused or missed 8 within 8 min" in f.explanation


def test_one_refused_push_then_success_is_ordinary() -> None:
    assert ids(run(_push_bombing(1))[0], "anomaly.mfa_fatigue") == []
    assert ids(run(_push_bombing(4))[0], "anomaly.mfa_fatigue") == []  # below medium's 5


def test_failed_sign_ins_against_the_users_own_baseline() -> None:
    clumsy = [
        (okta(d * DAY + i * 30, outcome=FAIL), where("Paris")) for d in range(8) for i in range(8)
    ]
    burst = [(o365(LATER + i * 20, op="UserLoginFailed"), where("Paris")) for i in range(15)]
    found, _ = run(history() + clumsy + burst)
    # this user fails 8 times in an hour most days: 15 is under twice that
    assert ids(found, "anomaly.failed_signins") == []
    burst = [(o365(LATER + i * 20, op="UserLoginFailed"), where("Paris")) for i in range(30)]
    found, _ = run(history() + clumsy + burst)
    (f,) = [f for f in found if f.policy_id == "anomaly.failed_signins"]
    assert f.count == 17
    assert "busiest hour of failures on earlier days was 8 (alert from 17" in f.explanation
    careful = [(o365(LATER + i * 20, op="UserLoginFailed"), where("Paris")) for i in range(12)]
    (f,) = [f for f in run(history() + careful)[0] if f.policy_id == "anomaly.failed_signins"]
    assert f.count == 10
