"""Public holidays of the synthetic org's countries, from rules (any year works)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

__all__ = ["holidays", "is_holiday"]

# Rules, not dates, so any year works. A rule is one of:
#   ("fixed", month, day, 0)       same date every year
#   ("easter", offset, 0, 0)       days after Easter Sunday (Good Friday is -2)
#   ("nth", month, weekday, n)     n-th weekday of the month (n = -1: the last one)
_Rule = tuple[str, int, int, int]

_HOLIDAY_RULES: dict[str, tuple[_Rule, ...]] = {
    "US": (
        ("fixed", 1, 1, 0),
        ("nth", 1, 0, 3),
        ("nth", 2, 0, 3),
        ("nth", 5, 0, -1),
        ("fixed", 6, 19, 0),
        ("fixed", 7, 4, 0),
        ("nth", 9, 0, 1),
        ("nth", 11, 3, 4),
        ("fixed", 12, 25, 0),
    ),
    "GB": (
        ("fixed", 1, 1, 0),
        ("easter", -2, 0, 0),
        ("easter", 1, 0, 0),
        ("nth", 5, 0, 1),
        ("nth", 5, 0, -1),
        ("nth", 8, 0, -1),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "DE": (
        ("fixed", 1, 1, 0),
        ("easter", -2, 0, 0),
        ("easter", 1, 0, 0),
        ("fixed", 5, 1, 0),
        ("easter", 39, 0, 0),
        ("easter", 50, 0, 0),
        ("fixed", 10, 3, 0),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "FR": (
        ("fixed", 1, 1, 0),
        ("easter", 1, 0, 0),
        ("fixed", 5, 1, 0),
        ("fixed", 5, 8, 0),
        ("easter", 39, 0, 0),
        ("fixed", 7, 14, 0),
        ("fixed", 8, 15, 0),
        ("fixed", 11, 1, 0),
        ("fixed", 11, 11, 0),
        ("fixed", 12, 25, 0),
    ),
    "IE": (
        ("fixed", 1, 1, 0),
        ("fixed", 3, 17, 0),
        ("easter", 1, 0, 0),
        ("nth", 5, 0, 1),
        ("nth", 6, 0, 1),
        ("nth", 8, 0, 1),
        ("nth", 10, 0, -1),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "NL": (
        ("fixed", 1, 1, 0),
        ("easter", 1, 0, 0),
        ("fixed", 4, 27, 0),
        ("easter", 39, 0, 0),
        ("easter", 50, 0, 0),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "ES": (
        ("fixed", 1, 1, 0),
        ("fixed", 1, 6, 0),
        ("easter", -2, 0, 0),
        ("fixed", 5, 1, 0),
        ("fixed", 8, 15, 0),
        ("fixed", 10, 12, 0),
        ("fixed", 11, 1, 0),
        ("fixed", 12, 6, 0),
        ("fixed", 12, 8, 0),
        ("fixed", 12, 25, 0),
    ),
    "PL": (
        ("fixed", 1, 1, 0),
        ("fixed", 1, 6, 0),
        ("easter", 1, 0, 0),
        ("fixed", 5, 1, 0),
        ("fixed", 5, 3, 0),
        ("fixed", 8, 15, 0),
        ("fixed", 11, 1, 0),
        ("fixed", 11, 11, 0),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "CA": (
        ("fixed", 1, 1, 0),
        ("easter", -2, 0, 0),
        ("fixed", 7, 1, 0),
        ("nth", 9, 0, 1),
        ("nth", 10, 0, 2),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "IN": (("fixed", 1, 26, 0), ("fixed", 8, 15, 0), ("fixed", 10, 2, 0), ("fixed", 12, 25, 0)),
    "SG": (
        ("fixed", 1, 1, 0),
        ("easter", -2, 0, 0),
        ("fixed", 5, 1, 0),
        ("fixed", 8, 9, 0),
        ("fixed", 12, 25, 0),
    ),
    "AU": (
        ("fixed", 1, 1, 0),
        ("fixed", 1, 26, 0),
        ("easter", -2, 0, 0),
        ("easter", 1, 0, 0),
        ("fixed", 4, 25, 0),
        ("fixed", 12, 25, 0),
        ("fixed", 12, 26, 0),
    ),
    "JP": (
        ("fixed", 1, 1, 0),
        ("nth", 1, 0, 2),
        ("fixed", 2, 11, 0),
        ("fixed", 4, 29, 0),
        ("fixed", 5, 3, 0),
        ("fixed", 5, 4, 0),
        ("fixed", 5, 5, 0),
        ("fixed", 11, 3, 0),
        ("fixed", 11, 23, 0),
    ),
    "BR": (
        ("fixed", 1, 1, 0),
        ("easter", -48, 0, 0),
        ("easter", -47, 0, 0),
        ("easter", -2, 0, 0),
        ("fixed", 4, 21, 0),
        ("fixed", 5, 1, 0),
        ("fixed", 9, 7, 0),
        ("fixed", 10, 12, 0),
        ("fixed", 11, 2, 0),
        ("fixed", 11, 15, 0),
        ("fixed", 12, 25, 0),
    ),
    "MX": (
        ("fixed", 1, 1, 0),
        ("nth", 2, 0, 1),
        ("nth", 3, 0, 3),
        ("fixed", 5, 1, 0),
        ("fixed", 9, 16, 0),
        ("nth", 11, 0, 3),
        ("fixed", 12, 25, 0),
    ),
}


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@cache
def holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays of ``country`` (ISO code) in ``year``; empty for unknown countries.

    Weekend substitution days are ignored: a holiday on a Saturday is simply lost.
    """
    out: set[date] = set()
    for kind, a, b, c in _HOLIDAY_RULES.get(country, ()):
        if kind == "fixed":
            out.add(date(year, a, b))
        elif kind == "easter":
            out.add(_easter(year) + timedelta(days=a))
        else:
            out.add(_nth_weekday(year, a, b, c))
    return frozenset(out)


def is_holiday(country: str, day: date) -> bool:
    """Whether ``day`` is a public holiday in ``country``."""
    return day in holidays(country, day.year)
