"""Okta's faults: the shared per-request ones, plus events stored late in the System Log.

Okta's System Log is eventually consistent: a polling query returns events in the order they
were *persisted*, and an event can be persisted well after its ``published`` time (research
§3.1: "may be out of order w.r.t. published"; bounded queries may miss "delayed events").
``late_fraction`` makes that happen on purpose: the chosen events become visible minutes
after later-published ones. A poller that follows the ``next`` links (persistence order)
still finds them; one that re-queries by ``published`` without overlap misses them.

Which events are late, and by how much, is a pure function of ``(seed, uuid)``: the history
and the live trickle get the same late events in every run, whatever requests came first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from opencasb.sandbox.faults import FaultDecision, RequestFaultInjector, RequestFaults

__all__ = ["FaultDecision", "FaultInjector", "Faults"]

_UNIT = float(1 << 64)


@dataclass(slots=True)
class Faults(RequestFaults):
    """The per-request faults, plus late-stored events. The defaults break nothing."""

    late_fraction: float = 0.0  # share of stored events persisted late ...
    late_max_minutes: float = 0.0  # ... by a uniform extra delay up to this many minutes


class FaultInjector(RequestFaultInjector[Faults]):
    """Per-request decisions and late persistence."""

    def __init__(self, faults: Faults | None = None) -> None:
        super().__init__(faults or Faults())

    @property
    def stores_late(self) -> bool:
        """True when some events are persisted late."""
        f = self.faults
        return f.late_fraction > 0 and f.late_max_minutes > 0

    def late_ms(self, uuid: str) -> int:
        """Extra milliseconds before the event ``uuid`` is persisted: 0 for most events, up
        to ``late_max_minutes`` for about ``late_fraction`` of them."""
        if not self.stores_late:
            return 0
        f = self.faults
        digest = hashlib.blake2b(
            uuid.encode(), digest_size=16, key=f"okta-late:{f.seed}".encode()
        ).digest()
        pick = int.from_bytes(digest[:8], "big") / _UNIT
        if pick >= f.late_fraction:
            return 0
        share = int.from_bytes(digest[8:], "big") / _UNIT
        return int(share * f.late_max_minutes * 60_000)
