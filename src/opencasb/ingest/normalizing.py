"""Normalizing a page of raw records: every record becomes an Activity or a quarantine entry.

Shared by the in-process ingest path (:mod:`opencasb.ingest.runner`), the worker processes of
:mod:`opencasb.ingest.pipeline` and file imports, so that all of them quarantine exactly the
same records with exactly the same error text.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opencasb.errors import NormalizeError
from opencasb.model import Activity

if TYPE_CHECKING:  # apps.base brings the HTTP stack, which ingest workers never use
    from opencasb.apps.base import Gap

__all__ = ["gap_record", "gap_rejects", "normalize_all", "normalize_record"]

Normalize = Callable[[Mapping[str, Any]], Activity]


def gap_record(gap: Gap) -> dict[str, Any]:
    """How a :class:`Gap` is kept in the quarantine: a JSON object that says what is missing."""
    return {"gap": {"code": gap.code, "what": gap.what, "meaning": gap.meaning, "fix": gap.fix}}


def gap_rejects(gaps: Sequence[Gap]) -> list[tuple[Any, str]]:
    """The quarantine entries of a page's gaps, ``(gap_record, "code: meaning")`` each."""
    return [(gap_record(gap), f"{gap.code}: {gap.meaning}") for gap in gaps]


def normalize_all(
    normalize: Normalize, raws: Sequence[Any]
) -> tuple[list[Activity], list[tuple[Any, str]]]:
    """Normalize a page; a record that fails is quarantined with its error, never dropped."""
    # A page allocates tens of thousands of small objects that all live until it is stored,
    # so the cyclic collector would only re-scan them and promote them into costly full
    # collections (measured: ~8% of ingest time). They form no cycles, so reference counting
    # frees them anyway; collection resumes when the page is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _normalize_page(normalize, raws)
    finally:
        if collecting:
            gc.enable()


def _normalize_page(
    normalize: Normalize, raws: Sequence[Any]
) -> tuple[list[Activity], list[tuple[Any, str]]]:
    activities: list[Activity] = []
    rejected: list[tuple[Any, str]] = []
    for raw in raws:
        outcome = normalize_record(normalize, raw)
        if type(outcome) is str:
            rejected.append((raw, outcome))
        else:
            activities.append(outcome)  # type: ignore[arg-type]
    return activities, rejected


def normalize_record(normalize: Normalize, raw: Any) -> Activity | str:
    """``normalize(raw)``, or the error text to quarantine ``raw`` with: a record that fails
    costs itself, never its page."""
    if not isinstance(raw, Mapping):
        return f"not a JSON object but {type(raw).__name__}"
    try:
        return normalize(raw)
    except NormalizeError as exc:
        return str(exc)
    except Exception as exc:  # a normalizer bug must cost one record, not the page
        return f"normalizer failed: {type(exc).__name__}: {exc}"
