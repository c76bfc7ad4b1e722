"""Where the policy pass stands: its cursors and engine state, which policies it evaluates,
and the policies still catching up alone over the stored history. Plain data, to and from
JSON (the policy stage's row in ``stage_state``).

Why catch-up: the main pass evaluates the *joined* policies over activities after its cursors.
A policy created or enabled later must still see the history stored before it (the commercial
product evaluates a new policy over the past too: its findings about old activity are
historical). So an enabled policy that has not joined gets a :class:`CatchUp`: its own
cursors (from the start of the store) and its own engine state; passes evaluate it alone over
the activities after its cursors and **up to the main pass's cursors**; once its cursors have
reached the main ones, it joins: its state is merged into the main state (the engine state is
keyed by policy first, so this is a plain move) and the main pass evaluates it from there on.
No activity is evaluated twice for one policy and none is skipped: the catch-up reads
``(its cursor, main cursor]``, the main pass ``(main cursor, ...)``.

A joined policy that is disabled (by the user or by the engine), deleted or changed (its
stored definition's fingerprint differs), or found enabled while the engine's state says it
disabled it (the user enabled it again), leaves: its state is forgotten and, enabled again,
it catches up from the start. Findings have the same ids for the same evidence, so a second
catch-up over history extends the alerts it raised before instead of raising them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from opencasb.detect.state import EngineState

__all__ = ["PROGRESS_VERSION", "CatchUp", "PolicyProgress", "fingerprint", "reached"]

PROGRESS_VERSION = 2
"""Version 1 was the combined stage row (policy and anomaly state, one cursor)."""


def fingerprint(definition: str) -> str:
    """What identifies one version of a stored policy's definition."""
    return hashlib.sha256(definition.encode()).hexdigest()[:16]


def reached(cursors: Mapping[int, int], target: Mapping[int, int]) -> bool:
    """Whether ``cursors`` are at or past ``target`` on every instance of ``target``."""
    return all(cursors.get(iid, 0) >= last for iid, last in target.items())


@dataclass(slots=True)
class CatchUp:
    """A policy evaluating the stored history alone: the definition it started with, how far
    it has read (per instance) and its engine state (its part only)."""

    fingerprint: str
    cursors: dict[int, int] = field(default_factory=dict)
    state: EngineState = field(default_factory=EngineState)


@dataclass(slots=True)
class PolicyProgress:
    """The policy stage's whole state.

    ``cursors``: the main pass's last activity id per instance; ``state``: the engine's
    state for the joined policies; ``joined``: policy id -> fingerprint of the definition
    the main pass evaluates; ``catchup``: policy id -> its catch-up. ``legacy`` marks a
    version-1 row (every enabled policy counts as joined, see :meth:`reconcile`) and
    ``legacy_anomaly`` its anomaly state (JSON), for the anomaly stage's first run.
    """

    cursors: dict[int, int] = field(default_factory=dict)
    state: EngineState = field(default_factory=EngineState)
    joined: dict[str, str] = field(default_factory=dict)
    catchup: dict[str, CatchUp] = field(default_factory=dict)
    legacy: bool = False
    legacy_anomaly: str = ""

    def reconcile(
        self, enabled: Mapping[str, str], sticky: frozenset[str] = frozenset()
    ) -> list[str]:
        """Bring the progress in line with the ``enabled`` policies (id -> fingerprint) in
        place, and join every catch-up that has reached the main cursors; returns the ids
        that joined. Idempotent: what it changes depends on the policies and cursors only.
        ``sticky`` policies (not stored, so never switched off in the store: Sigma rules)
        stay as the engine left them when it disabled them."""
        if self.legacy:
            self.joined = dict(enabled)
            self.legacy = False
        # a policy the engine disabled that is enabled now was enabled again by the user
        for pid in [
            p
            for p, fp in self.joined.items()
            if enabled.get(p) != fp or (p in self.state.disabled and p not in sticky)
        ]:
            del self.joined[pid]
            self.state = _forget(self.state, pid)
        for pid in [
            p
            for p, c in self.catchup.items()
            if enabled.get(p) != c.fingerprint or (p in c.state.disabled and p not in sticky)
        ]:
            del self.catchup[pid]
        for pid, fp in enabled.items():
            if pid not in self.joined and pid not in self.catchup:
                self.catchup[pid] = CatchUp(fp)
        joined = sorted(p for p, c in self.catchup.items() if reached(c.cursors, self.cursors))
        for pid in joined:
            c = self.catchup.pop(pid)
            self.state.merge(c.state, pid)
            self.joined[pid] = c.fingerprint
        return joined

    def to_json(self) -> str:
        """Canonical JSON: the same progress always gives the same text (the stage's
        conditional commit compares it)."""
        data: dict[str, Any] = {
            "version": PROGRESS_VERSION,
            "cursors": _cursors_out(self.cursors),
            "engine": self.state.to_dict(),
            "joined": dict(sorted(self.joined.items())),
            "catchup": {
                pid: {
                    "fingerprint": c.fingerprint,
                    "cursors": _cursors_out(c.cursors),
                    "engine": c.state.to_dict(),
                }
                for pid, c in sorted(self.catchup.items())
            },
        }
        return orjson.dumps(data).decode()

    @classmethod
    def from_json(cls, text: str | None) -> PolicyProgress:
        """The progress :meth:`to_json` wrote; empty for None or ``""``; a version-1 row
        (cursors, ``engine`` and ``anomaly``) is read as :attr:`legacy`."""
        if not text:
            return cls()
        data = orjson.loads(text)
        cursors = _cursors_in(data["cursors"])
        state = EngineState.from_json(orjson.dumps(data["engine"]))
        if data.get("version") != PROGRESS_VERSION:
            anomaly = data.get("anomaly")
            return cls(
                cursors,
                state,
                legacy=True,
                legacy_anomaly=orjson.dumps(anomaly).decode() if anomaly is not None else "",
            )
        catchup = {
            pid: CatchUp(
                c["fingerprint"],
                _cursors_in(c["cursors"]),
                EngineState.from_json(orjson.dumps(c["engine"])),
            )
            for pid, c in data["catchup"].items()
        }
        return cls(cursors, state, dict(data["joined"]), catchup)


def _forget(state: EngineState, policy_id: str) -> EngineState:
    out = state.copy()
    out.merge(EngineState(), policy_id)
    out.watermark = state.watermark
    return out


def _cursors_out(cursors: Mapping[int, int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(cursors.items())}


def _cursors_in(data: Mapping[str, Any]) -> dict[int, int]:
    return {int(k): int(v) for k, v in data.items()}
