"""Alert events as text for people: the e-mail subject and body."""

from __future__ import annotations

from opencasb.notify.payload import Outgoing

__all__ = ["body_text", "subject_line"]

_WHAT = {
    "opened": "opened",
    "extended": "extended (new evidence)",
    "closed": "closed",
    "commented": "commented on",
    "test": "test",
}


def _one_line(text: str) -> str:
    """Header-safe: line breaks and other controls would end or forge a mail header."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def subject_line(out: Outgoing) -> str:
    a = out.event.alert
    severity = str(a.get("severity") or "").upper()
    title = _one_line(str(a.get("title") or ""))[:150]
    prefix = "[OpenCASB test]" if out.test else f"[OpenCASB {severity}]"
    return f"{prefix} alert {_WHAT.get(out.kind, out.kind)}: {title}"


def body_text(out: Outgoing) -> str:
    """A plain-text account of the alert: what happened, who and what it concerns, when,
    and where to see more."""
    a = out.event.alert
    e = out.entities
    lines = [
        f"OpenCASB alert {_WHAT.get(out.kind, out.kind)}: {a.get('title')}",
        "",
        f"Severity:     {a.get('severity')}",
        f"Category:     {a.get('category')}",
        f"MITRE tactic: {a.get('tactic') or '-'}",
        f"Policy:       {a.get('policy_id')}",
        f"Status:       {a.get('status')}"
        + (f" ({a.get('resolution')})" if a.get("resolution") else ""),
        f"Seen:         {a.get('first_time')} to {a.get('last_time')}",
    ]
    if a.get("historical"):
        lines.append("Historical:   yes (raised from activity older than the detection)")
    lines += ["", "What happened:", f"  {a.get('explanation')}", ""]
    if a.get("comment"):
        by = f" by {a.get('comment_author')}" if a.get("comment_author") else ""
        lines += [f"Comment{by}:", f"  {a.get('comment')}", ""]
    lines.append("Entities:")
    for label, values in (
        ("Users", e.users),
        ("IP addresses", e.ips),
        ("Apps", e.apps),
        ("Instances", e.instances),
    ):
        lines.append(f"  {label + ':':14}{', '.join(values) if values else '-'}")
    evidence = [str(i) for i in (a.get("evidence") or [])]
    count = int(a.get("evidence_count") or len(evidence))
    shown = ", ".join(evidence[:20]) + (" ..." if count > 20 else "")
    lines += [
        "",
        f"Evidence: {count} activities" + (f" (ids {shown})" if evidence else ""),
        "",
        f"See it:   opencasb alerts show {a.get('id')}",
        f"Event id: {out.event.key} (the same in every copy of this message)",
    ]
    return "\n".join(lines) + "\n"
