"""Killing `opencasb sync` with SIGKILL during detection and restarting it yields the same
alerts, none twice (issue 12's acceptance), end to end: child processes against both
emulators over real HTTPS, the organisation's labelled scenarios in the data, the policy
templates enabled and the anomaly detections on.

Every kill is made to land inside the detection stage without guessing at timings: the
first when the stage logs its start line (it has committed nothing of this run yet), the
later ones as soon as the stage has committed one more pass. After each kill the stage's
committed cursor must still be short of the last stored activity, which proves the stage
was interrupted; the data holds several passes' worth of activities so that it is. The
last restart is `opencasb sync` as a service, with nothing new to fetch: it must still
finish the detection the kills interrupted.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.apps import (
    Alert,
    alerts,
    anchor,
    connect,
    last_activity,
    serve_org,
    stage_cursor,
    sync,
)
from tests.e2e.crashes import CLI

from opencasb.detect.stage import store_policy
from opencasb.detect.templates import load_templates
from opencasb.errors import DocumentError
from opencasb.sandbox.scenarios import sandbox_plan
from opencasb.sandbox.tls import SandboxTLS, ensure_sandbox_tls
from opencasb.store import open_store

pytestmark = pytest.mark.e2e

SEED, SIZE = 5, 60
BATCH = 2000  # activities per detection pass (one commit each); 5,000 by default
START_LINE = "detection stage: catching up"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A data folder that has ingested the served org (detection off), and the served
    org still running, so a copy of the folder syncs again with nothing new to fetch."""
    tls: SandboxTLS = ensure_sandbox_tls(tmp_path_factory.mktemp("tls"))
    end = anchor()
    # The scenarios of nine days: those of them inside Office 365's two days keep their
    # Office 365 records (fewer records published one blob at a time keep the test fast).
    plan = sandbox_plan(SEED, SIZE, end, 9)
    assert plan is not None
    with serve_org(
        tls, seed=SEED, size=SIZE, okta_days=9, o365_days=2, end=end, scenarios=plan
    ) as org:
        data = tmp_path_factory.mktemp("ingested") / "data"
        env = connect(data, org)
        env["OPENCASB_ANOMALY_DETECTION"] = "false"  # and no policy: the stage reads nothing
        sync(env)
        assert stage_cursor(data) == 0
        yield data, env


def _copy(ingested: tuple[Path, dict[str, str]], data: Path) -> dict[str, str]:
    """A copy of ``base`` with every policy template that needs nothing filled in enabled;
    the environment to sync it with (anomaly detections on)."""
    base, env = ingested
    shutil.copytree(base, data)
    store = open_store(f"sqlite:///{data / 'opencasb.db'}", key=(data / "master.key").read_bytes())
    try:
        for policy in load_templates():
            try:
                store_policy(store, dataclasses.replace(policy, enabled=True))
            except DocumentError:
                continue  # a template with a <placeholder> to fill in
    finally:
        store.close()
    return env | {
        "OPENCASB_DATA_DIR": str(data),
        "OPENCASB_ANOMALY_DETECTION": "true",
        "OPENCASB_LOG_LEVEL": "info",
        "OPENCASB_DETECTION_BATCH": str(BATCH),
    }


def _wait(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str, log: Path | None = None
) -> None:
    """Poll ``ready()`` until true; the child ending first (or a minute passing) fails,
    showing the end of its ``log``."""
    deadline = time.monotonic() + 60
    while not ready():
        said = log.read_text()[-3000:] if log is not None else ""
        assert proc.poll() is None, f"sync ended before {what}\n{said}"
        assert time.monotonic() < deadline, f"no {what} within a minute\n{said}"
        time.sleep(0.005)


def _kill_at_start_line(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [*CLI, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # ends at EOF if the child dies without the line
        seen.append(line)
        if START_LINE in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)


def _kill_after_a_pass(env: dict[str, str], data: Path) -> None:
    before = stage_cursor(data)
    proc = subprocess.Popen(
        [*CLI, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait(proc, lambda: stage_cursor(data) > before, "a detection pass")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _serve_until_caught_up(env: dict[str, str], data: Path, total: int) -> None:
    """`opencasb sync` as a service: it must finish the interrupted detection although no
    new activity arrives; then SIGTERM stops it cleanly."""
    log = data / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*CLI, "sync"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait(proc, lambda: stage_cursor(data) == total, "detection to catch up", log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]


def _key(a: Alert) -> tuple[str, str, str, tuple[str, ...], str, str, str]:
    return (a.id, a.policy_id, a.entity, a.evidence, a.first_time, a.last_time, a.explanation)


def test_sigkill_during_detection_then_restart_gives_the_same_alerts_none_twice(
    ingested: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    # Reference: one uninterrupted detection over the same stored activities.
    ref_dir = tmp_path / "reference"
    sync(_copy(ingested, ref_dir))
    reference = alerts(ref_dir)
    total = last_activity(ref_dir)
    assert stage_cursor(ref_dir) == total > 2 * BATCH, "too few activities for the kills"
    policies = {a.policy_id for a in reference}
    assert any(p.startswith("anomaly.") for p in policies), policies
    assert any(not p.startswith("anomaly.") for p in policies), policies

    data = tmp_path / "killed"
    env = _copy(ingested, data)
    _kill_at_start_line(env)
    cursors = [stage_cursor(data)]
    for _ in range(2):
        _kill_after_a_pass(env, data)
        cursors.append(stage_cursor(data))
    # each kill interrupted the stage: it had committed less than everything
    assert cursors[0] < cursors[1] < cursors[2] < total, cursors
    _serve_until_caught_up(env, data, total)

    after = alerts(data)
    assert Counter(a.id for a in after).most_common(1)[0][1] == 1
    for a in after:
        assert len(set(a.evidence_rows)) == len(a.evidence_rows), f"{a.id}: evidence twice"
        assert not [e for e in a.evidence if e.startswith("missing:")], a
    assert sorted(map(_key, after)) == sorted(map(_key, reference))
