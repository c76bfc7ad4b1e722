"""The labelled-scenario model: what one scenario injected, and the plan of all of them.

A :class:`GroundTruth` entry says what happened (``scenario``, ``kind``), to whom
(``victim``), in which apps, through which records (``activity_ids``: Okta ``uuid`` values
and Office 365 ``Id`` values) and between which times, and which detection should fire
(``expected_detection``; ``"none"`` for a benign look-alike).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from opencasb.clock import utc

__all__ = ["GroundTruth", "Injection", "ScenarioPlan", "iso"]

Kind = Literal["attack", "benign"]


def iso(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC)."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class GroundTruth:
    """One labelled scenario as the ground-truth file lists it."""

    scenario: str
    kind: Kind
    victim: str
    apps: tuple[str, ...]
    activity_ids: tuple[str, ...]
    start: datetime
    end: datetime
    expected_detection: str
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kind": self.kind,
            "victim": self.victim,
            "apps": list(self.apps),
            "activity_ids": list(self.activity_ids),
            "start": iso(self.start),
            "end": iso(self.end),
            "expected_detection": self.expected_detection,
            "details": dict(sorted(self.details.items())),
        }


@dataclass
class Injection:
    """The records one scenario adds: Okta ``(LogEvent, persisted_at)`` and Office 365
    ``(record, published_at)`` pairs (a record the service publishes twice appears twice),
    and its ground truth."""

    okta: list[tuple[dict[str, Any], datetime]]
    o365: list[tuple[dict[str, Any], datetime]]
    truth: GroundTruth


@dataclass
class ScenarioPlan:
    """Every scenario planned for ``[start, end)`` of one org and seed.

    ``okta_events`` is sorted by ``published``, ``o365_records`` by publication time and
    ``truth`` by start time; all are pure functions of ``(org, seed, window days)``.
    """

    seed: int
    size: int
    start: datetime
    end: datetime
    injections: list[Injection]
    okta_events: list[tuple[dict[str, Any], datetime]] = field(init=False)
    o365_records: list[tuple[dict[str, Any], datetime]] = field(init=False)
    truth: list[GroundTruth] = field(init=False)

    def __post_init__(self) -> None:
        self.okta_events = sorted(
            (e for i in self.injections for e in i.okta), key=lambda ep: ep[0]["published"]
        )
        self.o365_records = sorted((r for i in self.injections for r in i.o365), key=_second)
        self.truth = sorted((i.truth for i in self.injections), key=lambda t: (t.start, t.scenario))

    def okta_between(self, start: datetime, end: datetime) -> list[tuple[dict[str, Any], datetime]]:
        """The Okta events published in ``[start, end)``, in published order."""
        lo, hi = iso(start), iso(end)
        return [ep for ep in self.okta_events if lo <= ep[0]["published"] < hi]

    def o365_between(self, start: datetime, end: datetime) -> list[tuple[dict[str, Any], datetime]]:
        """The Office 365 records published in ``(start, end]``, in publication order."""
        return [rp for rp in self.o365_records if start < rp[1] <= end]

    def to_json(self) -> dict[str, Any]:
        """The ground-truth file's content."""
        return {
            "seed": self.seed,
            "size": self.size,
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "scenarios": [t.to_json() for t in self.truth],
        }


def _second(rp: tuple[dict[str, Any], datetime]) -> datetime:
    return rp[1]
