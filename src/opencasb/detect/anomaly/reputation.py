"""Sign-ins from anonymising networks (``tor``, ``anonymous_proxy`` tags) and from addresses a
threat-intelligence feed lists (``threat_intel``).

The tags come from enrichment (the user's IP range lists). Like the commercial product's, these
detections consider only successful interactive sign-ins, and need no learning period: the
address's reputation is the evidence. One finding per user, address and detector per day:
the sessions that follow the sign-in are the same incident.
"""

from __future__ import annotations

from opencasb.detect.anomaly.base import Context, is_interactive_signin, place_name
from opencasb.detect.anomaly.state import MAX_ALERTED
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic

__all__ = ["ANONYMOUS_IP", "SUSPICIOUS_IP", "anonymous_ip", "suspicious_ip"]

ANONYMOUS_IP = "anomaly.anonymous_ip"
SUSPICIOUS_IP = "anomaly.suspicious_ip"
_DAY_US = 86_400_000_000
_ANONYMOUS = {"tor": "a Tor exit relay", "anonymous_proxy": "an anonymising proxy"}


def _first_today(ctx: Context, key: str) -> bool:
    """True (and remembered) unless ``key`` was alerted for this user within a day."""
    assert ctx.user is not None
    alerted = ctx.user.alerted
    for k in [k for k, t in alerted.items() if abs(ctx.t - t) >= _DAY_US]:
        del alerted[k]
    if key in alerted:
        return False
    if len(alerted) >= MAX_ALERTED:
        del alerted[min(alerted, key=lambda k: (alerted[k], k))]
    alerted[key] = ctx.t
    return True


def _where(ctx: Context) -> str:
    code = ctx.enrichment.country_code
    return f" in {place_name(ctx.enrichment.city, code)}" if code else ""


def anonymous_ip(ctx: Context) -> list[Finding]:
    """A successful interactive sign-in through Tor or an anonymising proxy."""
    if not ctx.enrichment.ip_tags:  # most sign-ins: no tags, nothing to find
        return []
    tags = ctx.tags
    kinds = [v for k, v in _ANONYMOUS.items() if k in tags]
    if ctx.user is None or not kinds or not is_interactive_signin(ctx.activity):
        return []
    ip = ctx.activity.src_ip or ""
    if not _first_today(ctx, f"{ANONYMOUS_IP}:{ip}"):
        return []
    text = f"{ctx.user_key} signed in from {ip}{_where(ctx)}, {' and '.join(kinds)}"
    return [
        ctx.finding(
            ANONYMOUS_IP,
            "Activity from an anonymous IP address",
            severity=Severity.MEDIUM,
            tactic=Tactic.DEFENSE_EVASION,
            technique="T1090.003",
            evidence=[(ctx.t, ctx.activity_id)],
            explanation=text,
        )
    ]


def suspicious_ip(ctx: Context) -> list[Finding]:
    """A successful interactive sign-in from an address tagged ``threat_intel``."""
    if ctx.user is None or "threat_intel" not in ctx.enrichment.ip_tags:
        return []
    if not is_interactive_signin(ctx.activity):
        return []
    ip = ctx.activity.src_ip or ""
    if not _first_today(ctx, f"{SUSPICIOUS_IP}:{ip}"):
        return []
    text = (
        f"{ctx.user_key} signed in from {ip}{_where(ctx)}, an address your threat-intelligence "
        "list names as malicious"
    )
    return [
        ctx.finding(
            SUSPICIOUS_IP,
            "Activity from a suspicious IP address",
            severity=Severity.HIGH,
            tactic=Tactic.INITIAL_ACCESS,
            technique="T1078",
            evidence=[(ctx.t, ctx.activity_id)],
            explanation=text,
        )
    ]
