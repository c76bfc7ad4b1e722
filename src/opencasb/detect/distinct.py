"""The values a repeated-activity policy counts with ``distinct:`` (a filter-language field).

Contract: :func:`getter` returns None for a name that is not a field of the filter language
(:mod:`opencasb.filters.fields`) or that reads the enrichment (a window holds activities, not
their enrichment); the function it returns never raises and gives the field's set values
(None and empty text left out), in order. :func:`text` is the value as it is counted:
enums by value, booleans as true/false, case folded (``Ann@X.org`` and ``ann@x.org`` are one
user).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from opencasb.filters.fields import resolve
from opencasb.model.activity import Activity

__all__ = ["getter", "problem", "text"]

Getter = Callable[[Activity], list[Any]]


def problem(name: str) -> str | None:
    """Why ``name`` cannot be a ``distinct`` field, or None when it can."""
    try:
        ref = resolve(name)
    except ValueError as exc:
        return str(exc)
    if ref.spec.enrichment:
        return f"distinct cannot count {name!r}: the enrichment is not kept with the matches"
    return None


def getter(name: str) -> Getter | None:
    """The set values of field ``name`` of an activity; None: no such field (see above)."""
    if problem(name) is not None:
        return None
    get = resolve(name).spec.get

    def values(activity: Activity) -> list[Any]:
        found = get(activity, None)
        items = found if isinstance(found, list) else [found]
        return [v for v in items if v is not None and v != ""]

    return values


def text(value: Any) -> str:
    """The counted text of a value: enums by value, booleans as true/false, case folded."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()
