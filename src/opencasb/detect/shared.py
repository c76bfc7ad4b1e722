"""The shared filter language (:mod:`opencasb.filters`) as a policy :class:`~.policy.Predicate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opencasb.enrich.enricher import Enrichment
from opencasb.filters import Filter, compile_predicate, to_document
from opencasb.filters.predicate import Predicate as CompiledPredicate
from opencasb.model.activity import Activity

__all__ = ["SharedFilter"]


@dataclass(frozen=True, slots=True)
class SharedFilter:
    """A parsed (valid) filter-language tree, compiled once. Equal trees are equal filters."""

    tree: Filter
    _compiled: CompiledPredicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", compile_predicate(self.tree))

    @property
    def predicate(self) -> CompiledPredicate:
        """The compiled filter itself: ``predicate(activity, enrichment_or_None)``, what
        :meth:`matches` calls (the policy engine calls it directly)."""
        return self._compiled

    def matches(self, activity: Activity, enrichment: Enrichment | None = None) -> bool:
        return self._compiled(activity, enrichment)

    def to_data(self) -> Any:
        return to_document(self.tree)
