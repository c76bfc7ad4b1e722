"""Okta's faults: the shared per-request ones, plus events stored late in the System Log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opencasb.sandbox.faults import FaultDecision, RequestFaultInjector, RequestFaults

__all__ = ["FaultDecision", "FaultInjector", "Faults"]


@dataclass(slots=True)
class Faults(RequestFaults):
    """The per-request faults, plus late-stored events. The defaults break nothing."""

    late_fraction: float = 0.0  # share of appended events stored late ...
    late_max_minutes: float = 0.0  # ... by a uniform delay up to this many minutes


class FaultInjector(RequestFaultInjector[Faults]):
    """Per-request decisions and late persistence, from one seeded generator."""

    def __init__(self, faults: Faults | None = None) -> None:
        super().__init__(faults or Faults())

    def persisted_at(self, published: datetime) -> datetime:
        """When an event published at ``published`` reaches the log (maybe late)."""
        f = self.faults
        if f.late_fraction <= 0 or f.late_max_minutes <= 0:
            return published
        with self._lock:
            late = self._rng.random() < f.late_fraction
            delay = self._rng.uniform(0, f.late_max_minutes * 60) if late else 0.0
        return published + timedelta(seconds=delay)
