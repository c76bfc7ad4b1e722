"""Fault injection and publication timing for the Office 365 emulator.

All randomness comes from one seeded :class:`random.Random`: the same seed and the same request
sequence fail in the same places and publish records at the same times. ``Faults`` is a plain
mutable dataclass; change its fields while the emulator runs.

Publication delay is not a fault — the real service publishes blobs 60-90 minutes after the
events in them (research §1.6, §2.6) — but it lives here because it is drawn from the same
generator. ``late_fraction`` adds the hours-late blobs the FAQ warns about: to the records
appended one by one here, and (through :meth:`Faults.late`) to the generated history and
live trickle of :func:`~opencasb.sandbox.office365_sandbox.build_o365_sandbox`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opencasb.sandbox.faults import FaultDecision, RequestFaultInjector, RequestFaults
from opencasb.sandbox.office365.gen_publish import Late

__all__ = ["FaultDecision", "FaultInjector", "Faults"]


@dataclass(slots=True)
class Faults(RequestFaults):
    """The per-request faults, plus publication timing. The defaults break nothing."""

    publish_delay_minutes: tuple[float, float] = (30.0, 90.0)  # normal event -> blob latency
    late_fraction: float = 0.0  # share of appended records published late ...
    late_max_hours: float = 0.0  # ... by up to this many extra hours
    duplicate_fraction: float = 0.0  # share of appended records published in a second blob too

    def late(self) -> Late | None:
        """The generator's late publication for these faults (None: nothing late). The
        generator picks records by a hash of ``seed`` and each record, not from this
        module's random sequence, so the history and the trickle agree."""
        late = Late(self.late_fraction, int(self.late_max_hours * 3600), self.seed)
        return late if late.active else None


class FaultInjector(RequestFaultInjector[Faults]):
    """Per-request decisions and publication times, from one seeded generator."""

    def __init__(self, faults: Faults | None = None) -> None:
        super().__init__(faults or Faults())

    def publication(self, event_time: datetime) -> list[datetime]:
        """When a record of an event at ``event_time`` is published: one time, or two when
        the record is duplicated into a second blob."""
        f = self.faults
        lo, hi = f.publish_delay_minutes
        with self._lock:
            delay = self._rng.uniform(min(lo, hi), max(lo, hi)) * 60
            if self._rng.random() < f.late_fraction:
                delay += self._rng.uniform(0, f.late_max_hours * 3600)
            times = [event_time + timedelta(seconds=delay)]
            if self._rng.random() < f.duplicate_fraction:
                times.append(times[0] + timedelta(minutes=self._rng.uniform(1, 120)))
        return times
