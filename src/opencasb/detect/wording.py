"""Words of the policy engine's explanations: lists of names and addresses cut short, and
spans of time the way a person says them. Pure functions of their arguments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

__all__ = ["duration_text", "from_text", "names_text"]


def names_text(names: Sequence[str]) -> str:
    """The first three names, then how many more: ``a, b, c and 2 more``."""
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def from_text(ips: Sequence[str]) -> str:
    """`` from`` the first three addresses, then how many more; nothing for none."""
    if not ips:
        return ""
    more = f" and {len(ips) - 3} more addresses" if len(ips) > 3 else ""
    return f" from {', '.join(ips[:3])}{more}"


def duration_text(span: timedelta) -> str:
    """``5 minutes``, ``1 hour``, ``4 min 25 s``, ``40 s``: the way a person says it."""
    total = int(span.total_seconds())
    if total < 60:
        return f"{total} s" if total != 1 else "1 second"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h and not m and not s:
        return f"{h} hour{'s' if h != 1 else ''}"
    if not h and not s:
        return f"{m} minute{'s' if m != 1 else ''}"
    if h:
        return f"{h} h {m} min" if m else f"{h} h {s} s"
    return f"{m} min {s} s"
