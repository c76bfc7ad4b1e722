"""Detection quality on the demo organisation: generate, store, detect as the product does, and
score the alerts against the ground truth (``bench/bench_detection_quality.py``, and the CI
test on a small org).

:func:`run_quality` follows the demo (``opencasb demo``): Okta serves ``days`` of history,
Office 365 its 8 days of which the connector backfills 7, the labelled scenarios sit in the
last 7 days; every record is normalized and stored in a real SQLite store
(:meth:`~opencasb.store.Store.save_pages`, Okta's backfill first and then Office 365's, as
the demo's sync does), with both apps' user inventories; the demo's policy set
(:mod:`opencasb.sandbox.demo_policies`) is enabled, the demo's Tor/VPN/corporate lists tag
addresses, and :class:`~opencasb.detect.stage.DetectionStage` runs every built-in anomaly
detector at its defaults (medium sensitivity, 7 days of learning) until it has caught up.
The stored alerts are then scored with :func:`~.scoring.score` against the
``ground-truth.json`` written for the plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from opencasb.apps.office365.connector import MAX_BACKFILL_DAYS
from opencasb.apps.office365.inventory import _account as o365_account
from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.inventory import _account as okta_account
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.detect.anomaly import DETECTORS, AnomalySettings
from opencasb.detect.stage import DetectionStage, store_policy
from opencasb.enrich import Enricher, load_ip_ranges
from opencasb.model.activity import Activity
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.sandbox.demo_policies import demo_policies
from opencasb.store import PageWrite, Store, open_store

from .plan import sandbox_plan
from .scoring import Score, ScoredAlert, score
from .truth_file import write_ground_truth

__all__ = ["ANCHOR", "O365_DAYS", "QualityRun", "run_quality"]

ANCHOR = datetime(2026, 10, 27, 12, tzinfo=UTC)
"""The end of the generated history (fixed, so that a run is reproducible)."""
O365_DAYS = 8  # what the demo's Office 365 emulator serves (cli/demo.py)
_PAGE = 1000


@dataclass
class QualityRun:
    """One organisation's run: its size, the days of history, what was stored and raised,
    the score, and the alerts as scored (for the report)."""

    seed: int
    size: int
    days: int
    activities: int
    alerts: list[ScoredAlert]
    detectors: list[str]
    score: Score


def _signing_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pages(acts: Iterator[Activity]) -> Iterator[list[Activity]]:
    page: list[Activity] = []
    for a in acts:
        page.append(a)
        if len(page) == _PAGE:
            yield page
            page = []
    if page:
        yield page


def _enable_policies(store: Store) -> list[str]:
    """The demo's policy set (:func:`~opencasb.sandbox.demo_policies.demo_policies`)."""
    policies = demo_policies()
    for policy in policies:
        store_policy(store, policy)
    return [p.id for p in policies]


def run_quality(seed: int, size: int, days: int, workdir: Path) -> QualityRun:
    """Generate the demo organisation ``(seed, size)`` with ``days`` of Okta history, detect
    in a store under ``workdir`` (which also receives ``ground-truth.json``) and score.

    Raises:
        ValueError: ``days`` is too short to hold the scenarios.
    """
    from opencasb.sandbox.office365_sandbox import build_o365_sandbox
    from opencasb.sandbox.okta import generate_rsa_keypair
    from opencasb.sandbox.okta_sandbox import build_okta_sandbox

    plan = sandbox_plan(seed, size, ANCHOR, min(days, MAX_BACKFILL_DAYS))
    if plan is None:
        raise ValueError(f"{days} days cannot hold the scenarios; give at least 5")
    truth_path = write_ground_truth(workdir, plan)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    okta = build_okta_sandbox(
        seed=seed, size=size, days=days, clock=FakeClock(ANCHOR), anchor=ANCHOR,
        oauth_key_pem=generate_rsa_keypair(), scenarios=plan,
    )  # fmt: skip
    o365 = build_o365_sandbox(
        seed=seed, size=size, days=O365_DAYS, clock=FakeClock(ANCHOR), anchor=ANCHOR,
        signing_key=_signing_key(), scenarios=plan,
    )  # fmt: skip
    store = open_store(f"sqlite:///{workdir / 'opencasb.db'}", key=generate_key())
    try:
        okta_id = store.add_instance("okta", "okta-demo", {}, {}).id
        o365_id = store.add_instance("office365", "office365-demo", {}, {}).id
        store.replace_inventory(
            okta_id, [okta_account(u, []) for u in okta.state.users.values()], []
        )
        store.replace_inventory(o365_id, [o365_account(u) for u in o365.state.users.values()], [])
        # the connector backfills Office 365's last 7 days only
        since = ANCHOR - timedelta(days=MAX_BACKFILL_DAYS)
        okta_acts = (normalize_okta(orjson.loads(b)) for b in okta.state.log.iter_blobs())
        o365_acts = (
            normalize_o365(orjson.loads(r))
            for b in o365.state.blobs.all_blobs()
            if b.created >= since
            for r in b.records
        )
        stored = 0
        enricher = Enricher(
            ip_ranges=[r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))]
        )
        store.enricher = enricher
        for iid, feed, acts in ((okta_id, "logs", okta_acts), (o365_id, "audit", o365_acts)):
            for page in _pages(acts):
                saved = store.save_pages([PageWrite.of(iid, feed, page, None, enricher=enricher)])
                stored += sum(s.inserted for s in saved)
        policies = _enable_policies(store)
        clock = FakeClock(ANCHOR + timedelta(minutes=5))
        stage = DetectionStage(store, clock, enricher=enricher, anomaly=AnomalySettings())
        stage.run_until_caught_up()
        records = store.detection.list_alerts(limit=1_000_000)
        ids = sorted({i for a in records for i in a.evidence})
        by_id = store.detection.activities_by_id(ids)
        alerts = [
            ScoredAlert(
                policy_id=a.policy_id,
                evidence=tuple(by_id[i].source_event_id for i in a.evidence if i in by_id),
                entity=a.entity,
                explanation=a.explanation,
                first_time=a.first_time.isoformat(),
            )
            for a in sorted(records, key=lambda r: (r.first_time, r.id))
        ]
    finally:
        store.close()
    detectors = [*dict.fromkeys(DETECTORS), *policies]
    return QualityRun(seed, size, days, stored, alerts, detectors, score(truth, alerts, detectors))
