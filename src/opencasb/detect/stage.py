"""The detection stage: stored activities in, alerts out, after ingest and never inside it.

:meth:`DetectionStage.run_once` reads the activities stored after its cursors (per instance,
the last activity id it has seen: one instance's ids commit in order, as one process at a
time writes it), evaluates the enabled policies over them
with :class:`~opencasb.detect.engine.PolicyEngine`, and commits, in ONE transaction
(:meth:`opencasb.store.detection.DetectionStore.commit_stage`), the alerts, the engine's state,
the new cursor and the policies the engine disabled (with its reason). The built-in anomaly
detections (:class:`~opencasb.detect.anomaly.AnomalyEngine`) run over the same activities
unless switched off: their findings (``policy_id`` ``anomaly.*``) become alerts in the same
transaction, and their state is the ``anomaly`` key of the stage's state, beside the policy
engine's ``engine`` key. A crash before that
commit loses nothing: the next run starts again from the committed cursor and state, and the
engine, being pure, finds the same findings with the same ids; an alert that exists is only
extended. Two processes running the stage at once cannot both commit a pass: the commit is
conditional on the cursor it started from.

One alert per episode: the alert's id is the engine's :attr:`Finding.episode`, so a
continuing attack extends its alert (evidence, last time, explanation) instead of raising
another. Late activities (an older event time, a newer id) meet their neighbours in the
engine's event-time windows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import orjson

from opencasb.clock import Clock
from opencasb.config import Settings
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState, Sensitivity
from opencasb.detect.engine import (
    MAX_MATCHES_PER_BLOCK,
    MAX_MATCHES_PER_DAY,
    Finding,
    Observed,
    PolicyEngine,
)
from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import dump_policies, read_policies
from opencasb.detect.state import EngineState
from opencasb.enrich import Enricher
from opencasb.errors import DocumentError
from opencasb.store import Store
from opencasb.store.detection import AlertWrite, PolicyRecord

__all__ = [
    "STAGE",
    "DetectionStage",
    "StageResult",
    "anomaly_settings",
    "store_policy",
    "stored_policies",
]

log = logging.getLogger(__name__)

STAGE = "detect.policies"
"""The stage's row in ``stage_state``."""

_DEFAULT_ANOMALY = AnomalySettings()


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one pass did: activities read, alerts written (new or extended), policies the
    engine disabled, and whether the pass was committed (False: another process had
    committed it first, or there was nothing new)."""

    read: int
    alerts: int
    disabled: tuple[str, ...]
    committed: bool


def anomaly_settings(settings: Settings) -> AnomalySettings | None:
    """The anomaly detections' settings from the configuration; None when switched off
    (``anomaly_detection = false``)."""
    if not settings.anomaly_detection:
        return None
    return AnomalySettings(
        sensitivity=Sensitivity(settings.anomaly_sensitivity),
        learning=timedelta(days=settings.anomaly_learning_days),
    )


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
    loads (a hand-edited row) is skipped and logged, not fatal: the other policies run."""
    out: list[Policy] = []
    for rec in records:
        try:
            loaded = read_policies(rec.definition, f"policy {rec.id}")
        except DocumentError as exc:
            log.error("policy %s does not load, skipped: %s", rec.id, exc)
            continue
        out.extend(dataclasses.replace(p, id=rec.id, enabled=rec.enabled) for p in loaded[:1])
    return out


class DetectionStage:
    """Evaluates the stored policies over newly stored activities.

    Args:
        store: where activities, policies, the stage's state and alerts live.
        clock: "now" for the engine (what is historical).
        enricher: enriches each activity as it is read (place, ASN, user agent, the tags of
            its source address for scopes and ``enrich.*`` filters); default: the built-in
            database and no tagged ranges. (Enrichment is not stored at ingest yet.)
        max_matches_per_day, max_matches_per_block: the engine's auto-disable limits.
        anomaly: the anomaly detections' settings; None switches them off (their stored
            state is then kept as it is). The user status they need (a suspended user's
            activity) comes from the stored inventory's accounts.
        extra_policies: evaluated beside the stored ones and never stored (the Sigma rules
            of :func:`opencasb.detect.sigma.load_sigma_policies`); a stored policy with the
            same id is evaluated instead.
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
        extra_policies: Sequence[Policy] = (),
    ) -> None:
        self._store = store
        self._clock = clock
        self._enricher = enricher if enricher is not None else Enricher()
        self._limits = (max_matches_per_day, max_matches_per_block)
        self._anomaly = anomaly
        self._anomaly_engine: AnomalyEngine | None = None  # built on first use
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

    def run_once(self, batch: int = 5000) -> StageResult:
        """Evaluate at most ``batch`` new activities and commit the pass (module contract).
        With no enabled policy and the anomaly detections off it reads nothing and commits
        nothing."""
        det = self._store.detection
        records = det.list_policies()
        policies = stored_policies(records)
        taken = {p.id for p in policies}  # a stored policy wins over an extra one of its id
        policies += [p for p in self._extra if p.id not in taken]
        anomalies = self._anomalies()
        if anomalies is None and not any(p.enabled for p in policies):
            # Nothing to evaluate: the cursor stays, so a policy enabled later also sees
            # the history stored meanwhile (its findings about old activity are historical).
            return StageResult(0, 0, (), False)
        saved = det.get_stage(STAGE)
        cursors, state, anomaly_text = _load(saved.state if saved is not None else None)
        engine = PolicyEngine(
            policies,
            clock=self._clock,
            max_matches_per_day=self._limits[0],
            max_matches_per_block=self._limits[1],
        )
        for p in policies:  # enabled again by the user after the engine disabled it
            if p.enabled and p.id in state.disabled:
                state = engine.reset_policy(state, p.id)
        rows = det.activities_after(cursors, batch)
        if not rows:
            return StageResult(0, 0, (), False)
        observed = [Observed(i, a, self._enricher.enrich(a)) for i, _, a in rows]
        new_cursors = dict(cursors)
        for i, iid, _ in rows:
            new_cursors[iid] = max(new_cursors.get(iid, 0), i)
        findings, new_state = engine.evaluate(observed, state)
        if anomalies is not None:
            found, anomaly_state = anomalies.evaluate_observed(
                observed, AnomalyState.from_json(anomaly_text)
            )
            findings += found
            anomaly_text = anomaly_state.to_json()
        was_enabled = {p.id for p in policies if p.enabled}
        disabled = {
            pid: d.reason
            for pid, d in new_state.disabled.items()
            if pid in was_enabled and pid not in state.disabled
        }
        alerts = [_alert(f) for f in findings]
        committed = det.commit_stage(
            STAGE,
            expected=saved,
            cursor=max(new_cursors.values()),
            state=_dump(new_cursors, new_state, anomaly_text),
            new_alerts=alerts,
            disabled=disabled,
        )
        if disabled and committed:
            for pid, reason in disabled.items():
                log.warning("policy %s disabled: %s", pid, reason)
        return StageResult(len(rows), len(alerts), tuple(sorted(disabled)), committed)

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
        return StageResult(read, alerts, tuple(disabled), committed)


def _load(text: str | None) -> tuple[dict[int, int], EngineState, str]:
    """The per-instance cursors, the policy engine's state and the anomaly state's JSON
    (``""`` when none: a state stored before the anomaly detections ran) of a stage state."""
    if not text:
        return {}, EngineState(), ""
    data = orjson.loads(text)
    cursors = {int(k): int(v) for k, v in data["cursors"].items()}
    anomaly = data.get("anomaly")
    anomaly_text = orjson.dumps(anomaly).decode() if anomaly is not None else ""
    return cursors, EngineState.from_json(orjson.dumps(data["engine"])), anomaly_text


def _dump(cursors: dict[int, int], state: EngineState, anomaly: str) -> str:
    engine = orjson.loads(state.to_json())
    data = {"cursors": {str(k): v for k, v in sorted(cursors.items())}, "engine": engine}
    if anomaly:
        data["anomaly"] = orjson.loads(anomaly)
    return orjson.dumps(data).decode()


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
