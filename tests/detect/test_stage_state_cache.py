"""The anomaly state kept in memory between passes (instead of parsed from the stored row
every pass) gives exactly what a process that restarts before every pass gives: the same
alerts with the same evidence and text, and the same stored state, over the sandbox's
organisation (both apps, the labelled scenarios) read in small batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.sandbox.served import demo_enricher, served
from tests.store.conftest import KEY

from opencasb.clock import FakeClock
from opencasb.detect import stage as stage_module
from opencasb.detect.anomaly import AnomalySettings
from opencasb.detect.stage import ANOMALY_STAGE, DetectionStage
from opencasb.model.activity import Activity
from opencasb.sandbox.scenarios import sandbox_plan
from opencasb.store import open_store
from opencasb.store.activities import PageWrite

ANCHOR = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
SEED, SIZE, DAYS = 7, 50, 8


@pytest.fixture(scope="module")
def activities() -> tuple[list[Activity], list[Activity]]:
    plan = sandbox_plan(SEED, SIZE, ANCHOR, DAYS)
    got = served(SEED, SIZE, ANCHOR, DAYS, plan)
    return got.okta, got.o365


def _run(tmp: Path, acts: tuple[list[Activity], list[Activity]], restart: bool) -> Any:
    clock = FakeClock(ANCHOR)
    store = open_store(f"sqlite:///{tmp / 'store.db'}", key=KEY, clock=clock)
    enricher = demo_enricher()
    settings = AnomalySettings(learning=timedelta(days=1))
    try:
        okta = store.add_instance("okta", "acme", {}, {}).id
        o365 = store.add_instance("office365", "contoso", {}, {}).id
        okta_acts, o365_acts = acts
        for n in range(0, max(len(okta_acts), len(o365_acts)), 2000):
            store.save_pages(
                [
                    PageWrite.of(okta, "logs", okta_acts[n : n + 2000], {"n": n}),
                    PageWrite.of(o365, "audit", o365_acts[n : n + 2000], {"n": n}),
                ]
            )
            for _ in range(100):
                if restart:
                    stage_module._STATES.clear()  # as if the process had just started
                stage = DetectionStage(store, clock, enricher=enricher, anomaly=settings)
                if not stage.run_once(batch=700).committed:
                    break
        alerts = sorted(
            (a.id, a.policy_id, a.evidence, a.explanation, a.historical)
            for a in store.detection.list_alerts(limit=100_000)
        )
        row = store.detection.get_stage(ANOMALY_STAGE)
        assert row is not None
        return alerts, (row.state, store.detection.get_partitions(ANOMALY_STAGE))
    finally:
        store.close()


def test_kept_state_gives_what_a_restart_before_every_pass_gives(
    tmp_path: Path, activities: tuple[list[Activity], list[Activity]]
) -> None:
    (tmp_path / "kept").mkdir()
    (tmp_path / "restart").mkdir()
    kept = _run(tmp_path / "kept", activities, restart=False)
    restarted = _run(tmp_path / "restart", activities, restart=True)
    assert len(kept[0]) > 3  # the scenarios raise alerts; an empty run would prove nothing
    assert kept[0] == restarted[0]
    assert kept[1] == restarted[1]
