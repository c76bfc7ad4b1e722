"""Suspicious inbox rules and external mail forwarding (Exchange Online).

The organisation's own mail domains are learned from the stream: the domains of the actors'
e-mail addresses (:attr:`~.state.OrgState.domains`), plus the acting user's own domain, so
that "external" needs no configuration. A forwarding address outside them, set on a mailbox
(``Set-Mailbox`` ``ForwardingSmtpAddress``/``ForwardingAddress``) or in an inbox rule
(``ForwardTo``, ``RedirectTo``, ``ForwardAsAttachmentTo``), is external forwarding. An inbox
rule that deletes messages, or moves them where nobody looks (RSS, Archive, Conversation
History, Deleted Items), is a suspicious rule; with a forward it is both, in one finding.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from opencasb.detect.anomaly.base import Applies, Context
from opencasb.detect.anomaly.state import MAX_DOMAINS, OrgState
from opencasb.detect.engine import Finding
from opencasb.detect.policy import PolicyCategory, Severity, Tactic
from opencasb.model.activity import Outcome

__all__ = ["FORWARDING", "SUSPICIOUS_FORWARDING", "learn_domain", "suspicious_forwarding"]

SUSPICIOUS_FORWARDING = "anomaly.suspicious_forwarding"
_RULES = frozenset({"New-InboxRule", "Set-InboxRule"})
_MAILBOX_FORWARD = ("ForwardingSmtpAddress", "ForwardingAddress")
_RULE_FORWARD = ("ForwardTo", "RedirectTo", "ForwardAsAttachmentTo")
_HIDDEN = frozenset({"rss feeds", "rss subscriptions", "archive", "conversation history",
                     "deleted items"})  # fmt: skip
FORWARDING = Applies(types=frozenset({"Set-Mailbox"}) | _RULES)
"""What :func:`suspicious_forwarding` acts on."""


def _param(details: Any, name: str) -> str:
    value = details.get(f"param.{name}")
    if value is None and isinstance(details.get("param"), dict):
        value = details["param"].get(name)
    return "" if value is None else str(value)


@lru_cache(maxsize=4096)  # learn_domain asks it for every activity's actor
def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").casefold()


def learn_domain(email: str | None, org: OrgState) -> None:
    """Count the domain of the actor's mail address ``email`` as one of the organisation's
    (bounded). An organisation learner: it sees every activity, after the detectors and
    the other learners, and needs no :class:`~.base.Context`."""
    if not email or "@" not in email:
        return
    domains = org.domains
    d = _domain(email)
    if d in domains or len(domains) < MAX_DOMAINS:
        domains[d] = domains.get(d, 0) + 1


def suspicious_forwarding(ctx: Context) -> list[Finding]:
    """An inbox rule or mailbox forwarding outside the organisation, or hiding mail."""
    a = ctx.activity
    if a.outcome is Outcome.FAILURE:
        return []
    names: tuple[str, ...]
    if a.activity_type == "Set-Mailbox":
        names = _MAILBOX_FORWARD
    elif a.activity_type in _RULES:
        names = _RULE_FORWARD
    else:
        return []
    own = set(ctx.state.org.domains) | {_domain(a.actor.email or "")}
    external = []
    for name in names:
        for part in _param(a.details, name).replace(",", ";").split(";"):
            address = part.strip().removeprefix("smtp:").removeprefix("SMTP:")
            if "@" in address and _domain(address) not in own:
                external.append(address)
    reasons = []
    if external:
        reasons.append(f"forwards mail to {', '.join(external)}, outside the organisation's "
                       f"domains ({', '.join(sorted(own - {''})) or 'none known'})")  # fmt: skip
    if a.activity_type in _RULES:
        if _param(a.details, "DeleteMessage").lower() == "true":
            reasons.append("deletes the messages")
        folder = _param(a.details, "MoveToFolder")
        if folder.casefold() in _HIDDEN:
            reasons.append(f"moves the messages to {folder}")
    if not reasons:
        return []
    words = _param(a.details, "SubjectOrBodyContainsWords") or _param(
        a.details, "SubjectContainsWords"
    )
    what = "an inbox rule" if a.activity_type in _RULES else "mailbox forwarding"
    text = f"{ctx.user_key} set {what} that {' and '.join(reasons)}"
    if words:
        text += f", for messages containing {words!r}"
    return [
        ctx.finding(
            SUSPICIOUS_FORWARDING,
            "External forwarding" if external else "Suspicious inbox rule",
            severity=Severity.HIGH if external else Severity.MEDIUM,
            tactic=Tactic.COLLECTION if external else Tactic.DEFENSE_EVASION,
            technique="T1114.003" if external else "T1564.008",
            evidence=[(ctx.t, ctx.activity_id)],
            explanation=text,
            category=PolicyCategory.DLP if external else PolicyCategory.THREAT_DETECTION,
        )
    ]
