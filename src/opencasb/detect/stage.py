"""The detection stage: stored activities in, alerts out, after ingest and never inside it.

Two engines, each with its own row in ``stage_state`` (its cursors and its state):

* ``detect.policies`` (:data:`STAGE`): the activity policies
  (:class:`~opencasb.detect.engine.PolicyEngine`); its state is a
  :class:`~opencasb.detect.progress.PolicyProgress`: the main pass's per-instance cursors and
  engine state, plus the policies still catching up alone over the stored history (a policy
  created or enabled after the history was stored still evaluates it; its findings about
  old activity are historical);
* ``detect.anomaly`` (:data:`ANOMALY_STAGE`): the built-in anomaly detections
  (:class:`~opencasb.detect.anomaly.AnomalyEngine`, ``policy_id`` ``anomaly.*``) unless
  switched off; switched on later, they start from the beginning of the store (a backfill
  counts toward their learning period).

:meth:`DetectionStage.run_once` reads, for each lane (each catch-up, the main policy pass,
the anomaly detections), the activities stored after its cursors (per instance, the last
activity id it has seen: one instance's ids commit in order, as one process at a time writes
it; lanes at the same cursors share one read), evaluates them in event-time order and
commits, in ONE transaction (:meth:`opencasb.store.detection.DetectionStore.commit_stages`),
the alerts, each moved stage's state and cursors, and the policies the engine disabled (with
its reason). A crash before that commit loses nothing: the next run starts again from the
committed cursors and states, and the engines, being pure, find the same findings with the
same ids; an alert that exists is only extended. Two processes running the stage at once
cannot both commit a pass: the commit is conditional on every row it started from.

One alert per episode: the alert's id is the engine's :attr:`Finding.episode`, so a
continuing attack extends its alert (evidence, last time, explanation) instead of raising
another. Late activities (an older event time, a newer id) meet their neighbours in the
engines' event-time windows.

Partitioning: both engines' state is keyed by user; :mod:`opencasb.detect.state` and
:mod:`opencasb.detect.anomaly.state` name the partition key of each part.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson

from opencasb.clock import Clock
from opencasb.config import Settings
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState, Sensitivity
from opencasb.detect.anomaly.limit import suppressed_on
from opencasb.detect.directory import InventoryDirectory
from opencasb.detect.engine import (
    MAX_MATCHES_PER_BLOCK,
    MAX_MATCHES_PER_DAY,
    Directory,
    Finding,
    Observed,
    PolicyEngine,
)
from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import dump_policies, read_policies
from opencasb.detect.progress import PolicyProgress, fingerprint
from opencasb.detect.state import EngineState
from opencasb.enrich import Enricher, Enrichment
from opencasb.errors import DocumentError
from opencasb.model.activity import Activity
from opencasb.store import Store
from opencasb.store.detection import (
    AlertWrite,
    DetectionStore,
    PolicyRecord,
    StageState,
    StageWrite,
)

__all__ = [
    "ANOMALY_STAGE",
    "STAGE",
    "DetectionStage",
    "StageResult",
    "anomaly_settings",
    "store_policy",
    "stored_policies",
    "suppressed_today",
]

log = logging.getLogger(__name__)

STAGE = "detect.policies"
"""The policy engine's row in ``stage_state``."""
ANOMALY_STAGE = "detect.anomaly"
"""The anomaly engine's row in ``stage_state``."""

_DEFAULT_ANOMALY = AnomalySettings()
_EVENT_TIME = attrgetter("t")  # an Observed's event time (microseconds), read in C


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one pass did: activities read, alerts written (new or extended), policies the
    engine disabled, and whether the pass was committed (False: another process had
    committed it first, or there was nothing new)."""

    read: int
    alerts: int
    disabled: tuple[str, ...]
    committed: bool
    more: bool = True
    """Whether a lane read a whole batch, so that more may be waiting; False: every lane
    read all there was (a next pass would find only what was stored since)."""


def anomaly_settings(settings: Settings) -> AnomalySettings | None:
    """The anomaly detections' settings from the configuration; None when switched off
    (``anomaly_detection = false``)."""
    if not settings.anomaly_detection:
        return None
    return AnomalySettings(
        sensitivity=Sensitivity(settings.anomaly_sensitivity),
        learning=timedelta(days=settings.anomaly_learning_days),
        daily_alert_limit=settings.anomaly_daily_alert_limit,
    )


def suppressed_today(store: Store, now: datetime) -> dict[str, int]:
    """Per policy id, and per anomaly detector id (``anomaly.*``), the findings counted over
    its daily alert limit (and not raised) on ``now``'s UTC day, from the stages' stored
    state; those with none are left out. The engines count by event time: a day of old
    activities caught up today counts on its own day, not today."""
    out: dict[str, int] = {}
    saved = store.detection.get_stage(STAGE)
    if saved is not None:
        progress = PolicyProgress.from_json(saved.state)
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
        day = int((midnight - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
        for engine_state in (progress.state, *(c.state for c in progress.catchup.values())):
            for pid, c in engine_state.counters.items():
                if c.day == day and c.suppressed_day:
                    out[pid] = out.get(pid, 0) + c.suppressed_day
    a_saved = store.detection.get_stage(ANOMALY_STAGE)
    if a_saved is not None:
        # the organisation's part only (the counts are there): the users' rows are not read
        org = orjson.loads(a_saved.state).get("anomaly", {}).get("org", {})
        out.update(suppressed_on(AnomalyState.from_json(orjson.dumps({"org": org}).decode()), now))
    return out


def store_policy(store: Store, policy: Policy) -> None:
    """Save ``policy`` (insert or replace by id) as the stage will read it back.

    Raises:
        DocumentError: the policy does not read back as stored, e.g. an enabled template
            that still has a ``<placeholder>`` to fill in (nothing is saved then).
    """
    definition = dump_policies([policy])
    read_policies(definition, f"policy {policy.id}")
    store.detection.save_policy(policy.id, policy.name, definition, policy.enabled)


def stored_policies(records: list[PolicyRecord]) -> list[Policy]:
    """The policies of ``records``, each enabled as stored. A definition that no longer
    loads (a hand-edited row) is skipped and logged, not fatal: the other policies run.
    Each definition is parsed once per process (the stage reads the policies every pass)."""
    out: list[Policy] = []
    for rec in records:
        key = (rec.id, rec.definition)
        policy = _PARSED.get(key)
        if policy is None:
            try:
                loaded = read_policies(rec.definition, f"policy {rec.id}")
            except DocumentError as exc:
                log.error("policy %s does not load, skipped: %s", rec.id, exc)
                continue
            if not loaded:
                continue
            if len(_PARSED) >= _MAX_PARSED:
                _PARSED.clear()
            policy = _PARSED[key] = dataclasses.replace(loaded[0], id=rec.id)
        out.append(dataclasses.replace(policy, enabled=rec.enabled))
    return out


_PARSED: dict[tuple[str, str], Policy] = {}
"""Parsed stored policies by (id, definition): policies are immutable values."""
_MAX_PARSED = 4096


class DetectionStage:
    """Evaluates the stored policies and the anomaly detections over stored activities.

    Args:
        store: where activities, policies, the stages' state and alerts live.
        clock: "now" for the engines (what is historical).
        enricher: gives the current tags of each activity's source address (for scopes,
            ``ip_tags`` filters and the detectors), and enriches the activities stored
            without an enrichment; default: the store's
            (:attr:`~opencasb.store.Store.enricher`). Place, network and client are the
            ones stored at ingest (see :class:`_Reader`).
        max_matches_per_day, max_matches_per_block: the engine's auto-disable limits.
        anomaly: the anomaly detections' settings; None switches them off (their stored
            state and cursors are then kept as they are). The user status they need (a
            suspended user's activity) comes from the stored inventory's accounts.
        directory: group membership for scopes that name groups; default: the stored
            inventory's groups (:class:`~opencasb.detect.directory.InventoryDirectory`,
            read once per stage object, when a policy first needs it).
        extra_policies: evaluated beside the stored ones and never stored (the Sigma rules
            of :func:`opencasb.detect.sigma.load_sigma_policies`); a stored policy with the
            same id is evaluated instead. Like a stored policy, a new (or changed) one
            catches up over the history first; one the engine disables stays disabled
            until its rule changes.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        enricher: Enricher | None = None,
        max_matches_per_day: int = MAX_MATCHES_PER_DAY,
        max_matches_per_block: int = MAX_MATCHES_PER_BLOCK,
        anomaly: AnomalySettings | None = _DEFAULT_ANOMALY,
        directory: Directory | None = None,
        extra_policies: Sequence[Policy] = (),
    ) -> None:
        self._store = store
        self._clock = clock
        self._enricher = enricher if enricher is not None else store.enricher
        self._limits = (max_matches_per_day, max_matches_per_block)
        self._anomaly = anomaly
        self._anomaly_engine: AnomalyEngine | None = None  # built on first use
        self._directory = directory
        self._extra = tuple(extra_policies)

    def _anomalies(self) -> AnomalyEngine | None:
        """The anomaly engine, with the inventory's account status per user key (read once
        per stage object: ``run_detection`` makes one per catch-up)."""
        if self._anomaly is None:
            return None
        if self._anomaly_engine is None:
            status: dict[str, str] = {}
            for inst in self._store.list_instances():
                for acc in self._store.list_accounts(inst.id):
                    key = (acc.email or "").casefold() or acc.id
                    status.setdefault(key, acc.status)
            self._anomaly_engine = AnomalyEngine(
                self._anomaly, clock=self._clock, user_status=status
            )
        return self._anomaly_engine

    def _engine(self, policies: list[Policy]) -> PolicyEngine:
        if self._directory is None and any(p.scope.needs_groups for p in policies):
            self._directory = InventoryDirectory.from_store(self._store)
        return PolicyEngine(
            policies,
            clock=self._clock,
            directory=self._directory,
            max_matches_per_day=self._limits[0],
            max_matches_per_block=self._limits[1],
        )

    def run_once(self, batch: int = 5000) -> StageResult:
        """One pass of every lane (the policies' catch-ups, their main pass, the anomaly
        detections), at most ``batch`` activities each, committed together (module
        contract). With no enabled policy and the anomaly detections off it reads nothing
        and commits nothing."""
        # A pass allocates hundreds of thousands of small objects (the activities read, the
        # engines' entries) that all live until it ends, so the cyclic collector would only
        # re-scan them and promote them into full collections of the whole process; they
        # form no cycles, and reference counting frees them. As for a page at ingest
        # (opencasb.ingest.normalizing), collection resumes when the pass is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._pass(batch)
        finally:
            if collecting:
                gc.enable()

    def _pass(self, batch: int) -> StageResult:
        det = self._store.detection
        records = det.list_policies()
        stored = stored_policies(records)
        policies = {p.id: p for p in stored if p.enabled}
        enabled = {r.id: fingerprint(r.definition) for r in records if r.id in policies}
        taken = {p.id for p in stored}  # a stored policy wins over an extra one of its id
        for extra in self._extra:
            if extra.id not in taken:
                policies[extra.id] = extra
                enabled[extra.id] = _fingerprint_of(extra)
        sticky = frozenset(p.id for p in self._extra if p.id not in taken)
        p_saved = det.get_stage(STAGE)
        progress = PolicyProgress.from_json(p_saved.state if p_saved is not None else None)
        legacy = (dict(progress.cursors), progress.legacy_anomaly)
        progress.reconcile(enabled, sticky)
        reader = _Batches(_Reader(self._store, self._enricher, batch), batch)
        findings: list[Finding] = []
        disabled: dict[str, str] = {}
        writes: list[StageWrite] = []
        moved = self._catch_up(progress, policies, reader, findings, disabled)
        progress.reconcile(enabled, sticky)  # who has just caught up joins this very pass
        if progress.joined:
            observed, cursors = reader.read(progress.cursors)
            if observed:
                moved = True
                joined = sorted(progress.joined)
                engine = self._engine([policies[pid] for pid in joined])
                found, new_state = engine.evaluate(observed, progress.state)
                findings += found
                disabled.update(_newly_disabled(progress.state, new_state, joined))
                progress.cursors, progress.state = cursors, new_state
        if moved:
            cursor = max(progress.cursors.values(), default=0)
            writes.append(StageWrite(STAGE, p_saved, cursor, progress.to_json()))
        anomalies = self._anomalies()
        kept: tuple[str, dict[int, int], AnomalyState] | None = None
        if anomalies is not None:
            a_saved = det.get_stage(ANOMALY_STAGE)
            # the state object this process committed last, if the row still holds it
            # (parsing a large state every pass would cost more than the detectors)
            kept = _STATES.pop(self._store, None)
            if kept is not None and a_saved is not None and kept[0] == a_saved.state:
                a_cursors, a_state = kept[1], kept[2]
            else:
                a_cursors, a_state = _load_anomaly(det, a_saved, *legacy)
            observed, cursors = reader.read(a_cursors)
            if observed:
                # in place: the state is this pass's own (parsed or kept, never shared)
                now = self._clock.now()
                for o in sorted(observed, key=_EVENT_TIME):
                    findings += anomalies.observe(o, None, a_state, now)
                text = _dump_anomaly(cursors, a_state)
                # only the users this pass changed (or all, once, from a row of before)
                users = {k: a_state.user_json(k) for k in sorted(a_state.changed)}
                cursor = max(cursors.values())
                writes.append(StageWrite(ANOMALY_STAGE, a_saved, cursor, text, users))
                kept = (text, cursors, a_state)
            elif a_saved is not None:
                kept = (a_saved.state, a_cursors, a_state)
        if not writes:
            if kept is not None:
                _STATES[self._store] = kept
            return StageResult(0, 0, (), False)
        alerts = [_alert(f) for f in findings]
        committed = det.commit_stages(writes, new_alerts=alerts, disabled=disabled)
        if committed and kept is not None:
            kept[2].changed.clear()  # stored
            _STATES[self._store] = kept
        if disabled and committed:
            for pid, reason in disabled.items():
                log.warning("policy %s disabled: %s", pid, reason)
        return StageResult(
            reader.count, len(alerts), tuple(sorted(disabled)), committed, reader.full
        )

    def _catch_up(
        self,
        progress: PolicyProgress,
        policies: dict[str, Policy],
        reader: _Batches,
        findings: list[Finding],
        disabled: dict[str, str],
    ) -> bool:
        """One batch of every catch-up, up to the main pass's cursors, in ``progress``
        (findings and disabled policies added to the lists); whether any read something.
        Policies at the same cursors (added together) are evaluated together: one read."""
        by_cursors: dict[tuple[tuple[int, int], ...], list[str]] = {}
        for pid, c in sorted(progress.catchup.items()):
            by_cursors.setdefault(tuple(sorted(c.cursors.items())), []).append(pid)
        moved = False
        for ids in by_cursors.values():
            start = progress.catchup[ids[0]].cursors
            observed, cursors = reader.read(start, upto=progress.cursors)
            if not observed:
                continue
            moved = True
            state = EngineState()
            for pid in ids:
                state.merge(progress.catchup[pid].state, pid)
            found, new_state = self._engine([policies[p] for p in ids]).evaluate(observed, state)
            findings += found
            disabled.update(_newly_disabled(state, new_state, ids))
            for pid in ids:
                c = progress.catchup[pid]
                c.cursors, c.state = dict(cursors), new_state.only(pid)
        return moved

    def run_until_caught_up(self, batch: int = 5000, max_passes: int = 1000) -> StageResult:
        """Passes until nothing new is left (or ``max_passes``); the totals."""
        read = alerts = 0
        disabled: list[str] = []
        committed = False
        for _ in range(max_passes):
            r = self.run_once(batch)
            if not r.committed:
                break
            read, alerts, committed = read + r.read, alerts + r.alerts, True
            disabled += r.disabled
            if not r.more:  # every lane read all there was: a pass more would read nothing
                break
        return StageResult(read, alerts, tuple(disabled), committed, more=False)


class _Batches:
    """A pass's reader that notes whether any read filled its batch (``full``): a read of
    fewer than ``batch`` activities had all there was after its cursors."""

    def __init__(self, reader: _Reader, batch: int) -> None:
        self._reader = reader
        self._batch = batch
        self.full = False

    @property
    def count(self) -> int:
        return self._reader.count

    def read(
        self, cursors: dict[int, int], upto: dict[int, int] | None = None
    ) -> tuple[list[Observed], dict[int, int]]:
        observed, after = self._reader.read(cursors, upto)
        if len(observed) >= self._batch:
            self.full = True
        return observed, after


class _Reader:
    """Reads a pass's activities, once per distinct (cursors, bound): lanes at the same
    cursors share the read and the enrichment. ``count``: distinct activities read.

    Each activity comes with the enrichment stored at ingest (place, network, client: the
    databases as they were then, which is what the detectors' baselines were built from),
    but with the IP tags of its address from the enricher's *current* ranges: matching is
    cheap (cached per address), and a range tagged ``vpn`` or ``tor`` today must count in
    today's detections without waiting for ``opencasb enrich --all`` to rewrite the stored
    tags. An activity stored without an enrichment (before it was kept, or by a writer
    without an enricher) is enriched here, as :meth:`Enricher.enrich` would have at ingest.
    Both happen only for an activity an engine looks into (see
    :mod:`opencasb.store.observed`); the engines decide which on the columns read with it
    (type, category, user).
    """

    def __init__(self, store: Store, enricher: Enricher, batch: int) -> None:
        self._store = store
        self._det = store.detection
        self._enricher = enricher
        self._batch = batch
        self._reads: dict[Any, tuple[list[Observed], dict[int, int]]] = {}
        self._seen: set[int] = set()

    @property
    def count(self) -> int:
        return len(self._seen)

    def read(
        self, cursors: dict[int, int], upto: dict[int, int] | None = None
    ) -> tuple[list[Observed], dict[int, int]]:
        """The activities after ``cursors`` (up to ``upto``), observed, and the cursors
        after them."""
        key = (
            tuple(sorted(cursors.items())),
            None if upto is None else tuple(sorted(upto.items())),
        )
        done = self._reads.get(key)
        if done is None:
            # decoded, and enriched, only when an engine looks into it
            observed = self._det.observed_after(cursors, self._batch, upto, self._enrichment)
            after = dict(cursors)
            for o in observed:
                after[o.instance_id] = max(after.get(o.instance_id, 0), o.id)
            self._seen.update(o.id for o in observed)
            done = self._reads[key] = (observed, after)
        return done

    def _enrichment(self, a: Activity, stored: Enrichment | None) -> Enrichment:
        if stored is None:
            return self._enricher.enrich(a)
        tags = self._enricher.ip_tags(a.src_ip)
        return stored if tags == stored.ip_tags else dataclasses.replace(stored, ip_tags=tags)


def _fingerprint_of(policy: Policy) -> str:
    """The fingerprint of a policy that is not stored: of its canonical YAML."""
    return fingerprint(dump_policies([policy]) + (policy.note or ""))


def _newly_disabled(before: EngineState, after: EngineState, ids: list[str]) -> dict[str, str]:
    return {
        pid: d.reason
        for pid, d in after.disabled.items()
        if pid in ids and pid not in before.disabled
    }


_STATES: weakref.WeakKeyDictionary[Store, tuple[str, dict[int, int], AnomalyState]] = (
    weakref.WeakKeyDictionary()
)
"""Per store, the anomaly stage's state text this process committed last, with its cursors
and state object: the next pass takes the object instead of parsing the text again when the
stored row still holds that text (anything else, e.g. another process's commit, and the row
is parsed). A pass takes the object out while it works on it."""


def _load_anomaly(
    det: DetectionStore, saved: StageState | None, legacy_cursors: dict[int, int], legacy: str
) -> tuple[dict[int, int], AnomalyState]:
    """The anomaly stage's cursors and state: its row (the organisation's part and the
    cursors) with each user's state from its partition row. Before its first commit: what a
    version-1 combined row held (its cursors were the policies' then), else the start of the
    store. A state read from a row that still holds its users (written before the users had
    rows of their own) has every user marked changed: the next commit moves them out."""
    if saved is None:
        if legacy:
            state = AnomalyState.from_json(legacy)
            state.changed.update(state.users)
            return dict(legacy_cursors), state
        return {}, AnomalyState()
    data = orjson.loads(saved.state)
    cursors = {int(k): int(v) for k, v in data["cursors"].items()}
    state = AnomalyState.from_json(orjson.dumps(data["anomaly"]).decode())
    if data.get("partitioned"):
        parts = det.get_partitions(ANOMALY_STAGE)
        state.users = {k: AnomalyState.user_from_json(v) for k, v in sorted(parts.items())}
    else:
        state.changed.update(state.users)
    return cursors, state


def _dump_anomaly(cursors: dict[int, int], state: AnomalyState) -> str:
    """The anomaly stage's row: ``{"anomaly": ..., "cursors": ..., "partitioned": true}``,
    canonical; the users' states are not in it but in their partition rows (keyed by user,
    :meth:`AnomalyState.user_json`)."""
    cursor_text = orjson.dumps({str(k): v for k, v in sorted(cursors.items())}).decode()
    org = json.dumps(state.to_data(users=False), sort_keys=True, separators=(",", ":"))
    return f'{{"anomaly":{org},"cursors":{cursor_text},"partitioned":true}}'


def _alert(f: Finding) -> AlertWrite:
    return AlertWrite(
        id=f.episode or f.id,
        policy_id=f.policy_id,
        title=f"{f.policy_name}: {f.entity}",
        severity=str(f.severity),
        category=str(f.category),
        tactic=str(f.tactic) if f.tactic is not None else None,
        entity=f.entity,
        explanation=f.explanation,
        evidence=f.activity_ids,
        first_time=f.first,
        last_time=f.last,
        historical=f.historical,
    )
