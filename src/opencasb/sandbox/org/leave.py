"""Leaves of absence: the stretches in which a person does not work and their account is
suspended (the only suspensions of working people in everyday activity).

A person's leave is a pure function of ``(seed, person index, local day)``, so each app's
generator, drawing one person-day at a time, agrees on it without coordination: the Okta
generator writes the suspension in the small hours of the leave's first day and the
unsuspension in the small hours of the day after its last, and neither generator writes any
activity of the person in between. A suspension in everyday data therefore always means the
person stopped working: activity after it is never everyday activity.
"""

from __future__ import annotations

__all__ = ["LEAVE_DAYS", "leave_edge", "mix64", "on_leave"]

LEAVE_DAYS = 14
"""A leave covers one block of this many consecutive days (day ordinals ``k*14 ..``)."""
_PER_MILLE = 4  # of the people, per block: about one leave a year per 18 people
_MASK = (1 << 64) - 1


def mix64(*parts: int) -> int:
    """A 64-bit hash of some integers (SplitMix64 steps, as the generators' ``mix``)."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & _MASK)) + 0x9E3779B97F4A7C15 & _MASK
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
        x ^= x >> 31
    return x


def on_leave(seed: int, index: int, day: int) -> bool:
    """Is person ``index`` on leave on local day ``day`` (an ordinal)?"""
    return mix64(seed, index, day // LEAVE_DAYS, 0x1EAFE) % 1000 < _PER_MILLE


def leave_edge(seed: int, index: int, day: int) -> str | None:
    """``"start"`` on a leave's first day, ``"end"`` on the first day back, else None."""
    now, before = on_leave(seed, index, day), on_leave(seed, index, day - 1)
    if now and not before:
        return "start"
    if before and not now:
        return "end"
    return None
