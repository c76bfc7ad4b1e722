"""The policy engine's state: open repeated-activity windows, per-policy counters and the
policies the engine disabled. Plain data, to and from JSON.

A stage runner stores ``state.to_json()`` with its activity cursor in one transaction and
hands :meth:`EngineState.from_json` back to the engine after a restart: no window is lost and
no finding is raised twice.

Times are integer microseconds since the Unix epoch (exact, and cheap to compare).

Partitioning (to spread the work over machines later): the windows and episodes are keyed
``[policy id][group key]``, and every group key carries its partition key,
:func:`partition_key`: the user (the actor's lower-case e-mail, else id or name) for the
policies grouped by user, in one app (``"<instance>\n<user>"``) or across apps
(``"<user>"``), and the source address for the policies grouped by address (password
spray: the address is the unit of work there, as in the anomaly state's spray windows).
A worker that owns a set of partition keys needs only the windows and episodes whose group
keys map to them, and is sent only their activities. Single-activity policies keep nothing
per user. The per-policy counters (daily alert limit, auto-disable) and ``disabled`` are
organisation-wide by nature: they add up across partitions (each worker counts its own
matches and findings; the limits apply to the sums), and ``watermark`` is their maximum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

__all__ = ["STATE_VERSION", "Counters", "Disabled", "EngineState", "Entry", "partition_key"]

STATE_VERSION = 1

_V = TypeVar("_V")

Entry = tuple[int, int, str, str, str, str]
"""One match in an open window: (time µs, activity id, actor, source ip, distinct value,
app); unknown text is ""."""


@dataclass(slots=True)
class Counters:
    """One policy's counts for the current UTC day and three-hour block (of event time).

    ``day``/``block`` are their start in µs; ``suppressed`` counts the findings over the
    daily alert limit (counted, not raised).
    """

    day: int = 0
    block: int = 0
    matches_day: int = 0
    matches_block: int = 0
    findings_day: int = 0
    suppressed_day: int = 0

    def to_json(self) -> list[int]:
        return [
            self.day,
            self.block,
            self.matches_day,
            self.matches_block,
            self.findings_day,
            self.suppressed_day,
        ]

    @classmethod
    def from_json(cls, data: list[int]) -> Counters:
        return cls(*data)


@dataclass(frozen=True, slots=True)
class Disabled:
    """Why and when (µs of the activity that tripped it) the engine disabled a policy."""

    reason: str
    at: int


@dataclass(slots=True)
class EngineState:
    """Everything the engine remembers between batches.

    ``windows[policy_id][group_key]`` are the open window's matches, sorted by time;
    ``episodes[policy_id][group_key]`` is (start, last evidence) in µs of the group's latest
    episode (a run of findings no more than a timeframe apart: one alert);
    ``watermark`` is the latest activity time seen (µs). Mutable on purpose: the engine works
    on a :meth:`copy` and returns it, so the caller's state is never changed.
    """

    windows: dict[str, dict[str, list[Entry]]] = field(default_factory=dict)
    episodes: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    counters: dict[str, Counters] = field(default_factory=dict)
    disabled: dict[str, Disabled] = field(default_factory=dict)
    watermark: int = 0

    def copy(self) -> EngineState:
        return EngineState(
            windows={
                p: {g: list(e) for g, e in groups.items()} for p, groups in self.windows.items()
            },
            episodes={p: dict(groups) for p, groups in self.episodes.items()},
            counters={p: Counters(*c.to_json()) for p, c in self.counters.items()},
            disabled=dict(self.disabled),
            watermark=self.watermark,
        )

    def only(self, policy_id: str) -> EngineState:
        """A copy holding ``policy_id``'s part alone (windows, episodes, counters, disable)
        and the watermark: a policy's state while it catches up alone over history."""
        out = EngineState(watermark=self.watermark)
        if policy_id in self.windows:
            out.windows[policy_id] = {g: list(e) for g, e in self.windows[policy_id].items()}
        if policy_id in self.episodes:
            out.episodes[policy_id] = dict(self.episodes[policy_id])
        if policy_id in self.counters:
            out.counters[policy_id] = Counters(*self.counters[policy_id].to_json())
        if policy_id in self.disabled:
            out.disabled[policy_id] = self.disabled[policy_id]
        return out

    def merge(self, other: EngineState, policy_id: str) -> None:
        """Take ``other``'s part for ``policy_id`` in place of this state's (a caught-up
        policy joining the main pass); the watermark is the later of both."""
        _take(self.windows, other.windows, policy_id)
        _take(self.episodes, other.episodes, policy_id)
        _take(self.counters, other.counters, policy_id)
        _take(self.disabled, other.disabled, policy_id)
        self.watermark = max(self.watermark, other.watermark)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "watermark": self.watermark,
            "windows": {
                p: {g: [list(e) for e in entries] for g, entries in sorted(groups.items())}
                for p, groups in sorted(self.windows.items())
                if groups
            },
            "episodes": {
                p: {g: list(e) for g, e in sorted(groups.items())}
                for p, groups in sorted(self.episodes.items())
                if groups
            },
            "counters": {p: c.to_json() for p, c in sorted(self.counters.items())},
            "disabled": {
                p: {"reason": d.reason, "at": d.at} for p, d in sorted(self.disabled.items())
            },
        }

    def to_json(self) -> bytes:
        """Canonical JSON: the same state always gives the same bytes."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str | None) -> EngineState:
        """The state of :meth:`to_json`'s output; empty for None or empty input.

        Raises:
            ValueError: not a state this version can read.
        """
        if not data:
            return cls()
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            raise ValueError(f"not a policy engine state of version {STATE_VERSION}")
        return cls(
            windows={
                p: {g: [_entry(e) for e in entries] for g, entries in groups.items()}
                for p, groups in raw["windows"].items()
            },
            episodes={
                p: {g: (int(e[0]), int(e[1])) for g, e in groups.items()}
                for p, groups in raw["episodes"].items()
            },
            counters={p: Counters.from_json(c) for p, c in raw["counters"].items()},
            disabled={p: Disabled(d["reason"], d["at"]) for p, d in raw["disabled"].items()},
            watermark=int(raw["watermark"]),
        )


def partition_key(group_key: str) -> str:
    """The partition a window or episode belongs to: the user of a user-grouped key
    (``"<instance>\n<user>"`` or ``"<user>"``), or the address of an address-grouped one."""
    return group_key.rpartition("\n")[2]


def _take(mine: dict[str, _V], theirs: dict[str, _V], key: str) -> None:
    mine.pop(key, None)
    if key in theirs:
        mine[key] = theirs[key]


def _entry(data: list[Any]) -> Entry:
    t, i, actor, ip, distinct, app = data
    return (int(t), int(i), str(actor), str(ip), str(distinct), str(app))
