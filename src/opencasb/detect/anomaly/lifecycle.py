"""Activity by a suspended, disabled or deprovisioned user, and a factor enrolled from an
unusual place after someone else reset the user's factors.

A user counts as disabled from the moment the stream shows an Okta lifecycle event that
suspends or deactivates them (until one that unsuspends, activates or reactivates them), or,
for users disabled before the history began, when the inventory's status passed to the engine
says so (``suspended``, ``deprovisioned``, ``disabled``, ``deactivated``). Any successful
activity the user then performs (open sessions, tokens, Office 365 sign-ins linked by
e-mail) is a finding; failed attempts are the block working. One finding per user per day.

**MFA re-enrolment after a reset**: the help desk resets factors every week, and the user
enrols a new one from their usual place. An attacker who talked the help desk into a reset
(or an administrator account turned against the user) enrols their own factor from where
they are. A factor enrolled within :data:`REENROL_WINDOW_US` of a reset by someone else,
from a country that is not one of the user's usual ones (or through Tor, an anonymising
proxy or a listed address), is a finding with both as evidence. Needs the user's learning
period; one finding per reset.
"""

from __future__ import annotations

from opencasb.detect.anomaly.base import Applies, Context, place_name
from opencasb.detect.anomaly.state import UserState
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic
from opencasb.model.activity import Outcome

__all__ = [
    "DISABLED",
    "DISABLED_STATUSES",
    "DISABLED_USER",
    "ENROLMENTS",
    "LIFECYCLE",
    "MFA_REENROL",
    "REENROL_WINDOW_US",
    "disabled_user",
    "mfa_reenrolment",
    "track_lifecycle",
]

DISABLED_USER = "anomaly.disabled_user_activity"
DISABLED_STATUSES = frozenset({"suspended", "deprovisioned", "disabled", "deactivated"})
_DISABLE = {
    "user.lifecycle.suspend": "suspended",
    "user.lifecycle.deactivate": "deactivated",
}
_ENABLE = frozenset(
    {"user.lifecycle.unsuspend", "user.lifecycle.activate", "user.lifecycle.reactivate"}
)
_DAY_US = 86_400_000_000
MFA_REENROL = "anomaly.mfa_reenrolment"
REENROL_WINDOW_US = _DAY_US
_RESETS = frozenset({"user.mfa.factor.reset_all", "user.mfa.factor.deactivate"})
_ENROLS = frozenset({"user.mfa.factor.activate"})
_RISKY_TAGS = frozenset({"tor", "anonymous_proxy", "threat_intel"})
LIFECYCLE = Applies(types=frozenset(_DISABLE) | _ENABLE | _RESETS)
"""What :func:`track_lifecycle` acts on."""


def _may_be_disabled(user: UserState | None, status: str | None) -> bool:
    # what disabled_user needs before it finds (or changes) anything: a suspension in
    # force, or a disabled status in the inventory
    return user is not None and (bool(user.disabled) or (status or "").lower() in DISABLED_STATUSES)


DISABLED = Applies(everything=True, gate=_may_be_disabled)
"""What :func:`disabled_user` acts on: anything its user does, while suspended or disabled."""
ENROLMENTS = Applies(types=_ENROLS)
"""What :func:`mfa_reenrolment` acts on."""


def _target_keys(ctx: Context) -> list[str]:
    keys = []
    for t in ctx.activity.targets:
        if (t.type or "").lower() == "user":
            key = (t.alternate_id or "").casefold() or t.id or t.name or ""
            if key:
                keys.append(key)
    return keys


def track_lifecycle(ctx: Context) -> list[Finding]:
    """Remember suspensions and reactivations of the activity's target users (no findings)."""
    a = ctx.activity
    if a.outcome is Outcome.FAILURE or (
        a.activity_type not in _DISABLE
        and a.activity_type not in _ENABLE
        and a.activity_type not in _RESETS
    ):
        return []
    for key in _target_keys(ctx):
        user = ctx.state.users.get(key)
        if user is None:
            user = ctx.state.users[key] = UserState(first=ctx.t)
        ctx.state.changed.add(key)
        if a.activity_type in _RESETS:
            if key != ctx.user_key:  # a reset by someone else (help desk, administrator)
                user.mfa_reset = [ctx.t, ctx.activity_id, ctx.user_key]
        elif a.activity_type in _DISABLE:
            user.disabled = [ctx.t, ctx.activity_id, _DISABLE[a.activity_type], ctx.user_key]
        else:
            user.disabled = []
    return []


def disabled_user(ctx: Context) -> list[Finding]:
    """A successful activity by a user who is suspended or deprovisioned."""
    u, a = ctx.user, ctx.activity
    if u is None or a.outcome is Outcome.FAILURE:
        return []
    if a.activity_type in _DISABLE or a.activity_type in _ENABLE:
        return []
    evidence = [(ctx.t, ctx.activity_id)]
    if u.disabled and u.disabled[0] <= ctx.t:
        t0, aid, how, by = u.disabled
        evidence.insert(0, (int(t0), int(aid)))
        minutes = round((ctx.t - int(t0)) / 60_000_000)
        since = f"{how} by {by or 'an administrator'} {minutes} min earlier"
    elif (ctx.status or "").lower() in DISABLED_STATUSES:
        since = f"{(ctx.status or '').lower()} in the user inventory"
    else:
        return []
    last = u.alerted.get(DISABLED_USER)
    if last is not None and 0 <= ctx.t - last < _DAY_US:
        return []
    u.alerted[DISABLED_USER] = ctx.t
    text = f"{ctx.user_key} ({a.app}: {a.action or a.activity_type}) while {since}"
    return [
        ctx.finding(
            DISABLED_USER,
            "Activity by a suspended or deprovisioned user",
            severity=Severity.HIGH,
            tactic=Tactic.PERSISTENCE,
            technique="T1078",
            evidence=evidence,
            explanation=text,
        )
    ]


def mfa_reenrolment(ctx: Context) -> list[Finding]:
    """A factor enrolled from an unusual place soon after someone else reset the factors."""
    u, a = ctx.user, ctx.activity
    if u is None or not u.mfa_reset or a.activity_type not in _ENROLS:
        return []
    if a.outcome is Outcome.FAILURE:
        return []
    t0, aid, by = u.mfa_reset
    if not 0 <= ctx.t - int(t0) <= REENROL_WINDOW_US:
        return []
    u.mfa_reset = []  # the reset is answered: one finding at most
    code = (ctx.enrichment.country_code or "").upper()
    n = ctx.settings.thresholds.user_country_signins
    usual = sorted(c for c, k in u.countries.items() if k >= n)
    risky = sorted(ctx.tags & _RISKY_TAGS)
    if not ctx.learned(u.first) or not (risky or (code and code not in usual)):
        return []
    where = place_name(ctx.enrichment.city, code) if code else "an unknown place"
    known = ", ".join(usual) or "none"
    why = (
        f"through an address tagged {', '.join(risky)}"
        if risky
        else f"a country this user does not usually sign in from (usual: {known})"
    )
    minutes = round((ctx.t - int(t0)) / 60_000_000)
    text = (
        f"{ctx.user_key}'s factors were reset by {by or 'an administrator'}, and {minutes} min "
        f"later a new factor was enrolled from {where} ({a.src_ip or 'no address'}), {why}"
    )
    return [
        ctx.finding(
            MFA_REENROL,
            "MFA re-enrolled from an unusual place after a reset",
            severity=Severity.HIGH,
            tactic=Tactic.PERSISTENCE,
            technique="T1098.005",
            evidence=[(int(t0), int(aid)), (ctx.t, ctx.activity_id)],
            explanation=text,
        )
    ]
