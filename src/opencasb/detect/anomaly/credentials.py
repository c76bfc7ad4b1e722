"""Credential attacks: password spray, MFA fatigue and failed sign-ins above the user's own
baseline.

* **Password spray**: failed sign-ins from one source address against many distinct users
  within :attr:`~.settings.AnomalySettings.spray_window`. The window empties at each finding,
  so the next needs a threshold's worth of new users; findings of one address no more than a
  window apart are one episode (one alert, extended).
* **MFA fatigue**: many Okta Verify pushes sent, refused or timed out within
  :attr:`~.settings.AnomalySettings.mfa_window`, then a successful factor or sign-in.
* **Multiple failed sign-ins**: failed sign-ins of one user in the last hour above both a
  floor and a multiple of the busiest hour the user had on earlier days (needs the user's
  learning period). One finding per user per hour.
"""

from __future__ import annotations

from datetime import timedelta

from opencasb.detect.anomaly.base import (
    FAILED_SIGNIN_TYPES,
    INTERACTIVE_SIGNIN_TYPES,
    Applies,
    Context,
    is_failed_signin,
    is_interactive_signin,
    utc_day,
)
from opencasb.detect.anomaly.settings import AnomalySettings
from opencasb.detect.anomaly.state import (
    MAX_FAILURES,
    MAX_PEAK_DAYS,
    MAX_PUSHES,
    MAX_SPRAY_EVENTS,
    AnomalyState,
)
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic
from opencasb.model.activity import Outcome

__all__ = [
    "FAILED_SIGNINS",
    "FAILURES",
    "MFA_FATIGUE",
    "PASSWORD_SPRAY",
    "PUSHES",
    "failed_signins",
    "mfa_fatigue",
    "password_spray",
    "prune_org",
]

PASSWORD_SPRAY = "anomaly.password_spray"
MFA_FATIGUE = "anomaly.mfa_fatigue"
FAILED_SIGNINS = "anomaly.failed_signins"
_PUSH_SENT = "system.push.send_factor_verify_push"
_PUSH_DENIED = "user.mfa.okta_verify.deny_push"
_MFA = "user.authentication.auth_via_mfa"
_HOUR_US = 3_600_000_000
FAILURES = Applies(types=FAILED_SIGNIN_TYPES)
"""What :func:`password_spray` and :func:`failed_signins` act on: failed sign-ins."""
PUSHES = Applies(types=frozenset({_PUSH_SENT, _PUSH_DENIED, _MFA}) | INTERACTIVE_SIGNIN_TYPES)
"""What :func:`mfa_fatigue` acts on: push prompts, factor checks and sign-ins."""


_ONE_US = timedelta(microseconds=1)


def _us(value: timedelta) -> int:
    return value // _ONE_US


def _minutes(us: int) -> str:
    return f"{max(1, round(us / 60_000_000))} min"


def _names(users: list[str], n: int = 3) -> str:
    shown = ", ".join(users[:n])
    return shown + (f" and {len(users) - n} more" if len(users) > n else "")


def password_spray(ctx: Context) -> list[Finding]:
    """Failed sign-ins of many distinct users from one source address."""
    ip = ctx.activity.src_ip
    if not ip or not is_failed_signin(ctx.activity):
        return []
    org = ctx.state.org
    window = _us(ctx.settings.spray_window)
    events = [e for e in org.spray.get(ip, []) if ctx.t - e[0] < window]
    events.append([ctx.t, ctx.user_key, ctx.activity_id])
    org.spray[ip] = events[-MAX_SPRAY_EVENTS:]
    users = sorted({e[1] for e in events if e[1]})
    need = ctx.settings.thresholds.spray_users
    if len(users) < need:
        return []
    del org.spray[ip]
    span = events[-1][0] - events[0][0]
    ep = org.spray_episode.get(ip)
    continues = ep is not None and ctx.t - ep[0] <= window
    episode = ep[1] if ep is not None and continues else ""
    text = (
        f"{len(users)} users failed to sign in from {ip} within {_minutes(span)} "
        f"(threshold {need} at {ctx.settings.sensitivity} sensitivity): {_names(users)}"
    )
    found = ctx.finding(
        PASSWORD_SPRAY,
        "Password spray",
        severity=Severity.HIGH,
        tactic=Tactic.CREDENTIAL_ACCESS,
        technique="T1110.003",
        evidence=[(e[0], e[2]) for e in events],
        explanation=text,
        entity_kind="ip",
        entity=ip,
        users=tuple(users),
        ips=(ip,),
        episode=episode,
        continues=continues,
    )
    org.spray_episode[ip] = [ctx.t, found.episode]
    return [found]


def prune_org(state: AnomalyState, t: int, settings: AnomalySettings) -> None:
    """Forget source addresses whose spray window and episode have both passed at ``t``."""
    window = _us(settings.spray_window)
    org = state.org
    for ip in [ip for ip, ev in org.spray.items() if not ev or t - ev[-1][0] >= window]:
        del org.spray[ip]
    for ip in [ip for ip, ep in org.spray_episode.items() if t - ep[0] > window]:
        del org.spray_episode[ip]


def mfa_fatigue(ctx: Context) -> list[Finding]:
    """Push bombing: many push prompts refused or unanswered, then a success."""
    u, a = ctx.user, ctx.activity
    if u is None:
        return []
    kind = -1
    if a.activity_type == _PUSH_SENT:
        kind = 0
    elif a.activity_type == _PUSH_DENIED or (
        a.activity_type == _MFA and a.outcome is Outcome.FAILURE
    ):
        kind = 1
    if kind >= 0:
        window = _us(ctx.settings.mfa_window)
        u.pushes = [p for p in u.pushes if ctx.t - p[0] < window][-(MAX_PUSHES - 1) :]
        u.pushes.append([ctx.t, ctx.activity_id, kind])
        return []
    if not u.pushes:  # no prompt to answer (most sign-ins): nothing to find or forget
        return []
    success = (a.activity_type == _MFA and a.outcome is Outcome.SUCCESS) or is_interactive_signin(a)
    if not success:
        return []
    window = _us(ctx.settings.mfa_window)
    recent = [p for p in u.pushes if 0 <= ctx.t - p[0] < window]
    sent = sum(1 for p in recent if p[2] == 0)
    refused = len(recent) - sent
    prompts = max(sent, refused)
    need = ctx.settings.thresholds.mfa_pushes
    u.pushes = []
    if prompts < need or refused < 2:
        return []
    span = ctx.t - recent[0][0]
    text = (
        f"{ctx.user_key} was sent {sent} push prompt(s) and refused or missed {refused} "
        f"within {_minutes(span)}, then a factor was accepted "
        f"(threshold {need} prompts at {ctx.settings.sensitivity} sensitivity)"
    )
    return [
        ctx.finding(
            MFA_FATIGUE,
            "MFA fatigue (push bombing)",
            severity=Severity.HIGH,
            tactic=Tactic.CREDENTIAL_ACCESS,
            technique="T1621",
            evidence=[(p[0], p[1]) for p in recent] + [(ctx.t, ctx.activity_id)],
            explanation=text,
        )
    ]


def failed_signins(ctx: Context) -> list[Finding]:
    """A user's failed sign-ins in the last hour far above that user's usual worst hour."""
    u = ctx.user
    if u is None or not is_failed_signin(ctx.activity):
        return []
    u.failures = [f for f in u.failures if ctx.t - f[0] < _HOUR_US][-(MAX_FAILURES - 1) :]
    u.failures.append([ctx.t, ctx.activity_id])
    count = len(u.failures)
    day = utc_day(ctx.t)
    baseline = max((v for d, v in u.peak.items() if d < day), default=0)
    u.peak[day] = max(u.peak.get(day, 0), count)
    if len(u.peak) > MAX_PEAK_DAYS:
        for d in sorted(u.peak)[:-MAX_PEAK_DAYS]:
            del u.peak[d]
    th = ctx.settings.thresholds
    need = max(th.failed_floor, int(baseline * th.failed_factor) + 1)
    if count < need or not ctx.learned(u.first):
        return []
    key = FAILED_SIGNINS
    last = u.alerted.get(key)
    if last is not None and ctx.t - last < _HOUR_US:
        return []
    u.alerted[key] = ctx.t
    text = (
        f"{ctx.user_key} failed to sign in {count} times within "
        f"{_minutes(ctx.t - u.failures[0][0])}; this user's busiest hour of failures on "
        f"earlier days was {baseline} (alert from {need} at {ctx.settings.sensitivity} "
        "sensitivity)"
    )
    ips = tuple(dict.fromkeys(x for x in (ctx.activity.src_ip,) if x))
    return [
        ctx.finding(
            FAILED_SIGNINS,
            "Multiple failed sign-in attempts",
            severity=Severity.MEDIUM,
            tactic=Tactic.CREDENTIAL_ACCESS,
            technique="T1110.001",
            evidence=[(f[0], f[1]) for f in u.failures],
            explanation=text,
            ips=ips,
        )
    ]
