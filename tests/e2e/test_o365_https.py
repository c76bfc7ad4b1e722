"""Office 365 end to end over real HTTPS on loopback: `opencasb` in child processes against
the emulator (late blobs, duplicated records, string numbers, faults), SIGKILLed at random.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from tests.e2e.crashes import CLI, kill_during_backfill, stored

from opencasb.clock import SystemClock
from opencasb.sandbox.office365 import Faults
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import SandboxTLS, ensure_sandbox_tls

pytestmark = pytest.mark.e2e

# A 2-second window: an injected burst spends the rest of it, so its wait stays short.
_FAST = Limits(
    activity_per_minute=1_000_000, shared_pool_per_minute=1_000_000, activity_window_seconds=2
)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return ensure_sandbox_tls(tmp_path_factory.mktemp("tls"))


def _serve(tls: SandboxTLS, faults: Faults | None) -> Iterator[tuple[O365Sandbox, str]]:
    clock = SystemClock()
    # Three days of history published up to two minutes ago: every blob is listable and none
    # expires while the test runs, so the truth does not move. (The 7-day edge is tested on
    # a fake clock in tests/apps/office365.)
    sb = build_o365_sandbox(
        seed=13,
        size=500,  # enough pages that 20 kills land before the backfill completes
        days=3,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        limits=_FAST,
        faults=faults,
    )
    with SandboxServer(sb.app, tls) as server:
        yield sb, server.base_url


@pytest.fixture(scope="module")
def served(tls: SandboxTLS) -> Iterator[tuple[O365Sandbox, str]]:
    yield from _serve(tls, None)


@pytest.fixture(scope="module")
def faulty(tls: SandboxTLS) -> Iterator[tuple[O365Sandbox, str]]:
    # Seed 4 draws a 500 for the very first token request, which fails `connect` itself.
    faults = Faults(error_500_rate=0.03, error_503_rate=0.02, burst_429_every=40,
                    seed=5)  # fmt: skip
    yield from _serve(tls, faults)


def _truth(sb: O365Sandbox) -> set[str]:
    now = SystemClock().now()
    return {
        orjson.loads(r)["Id"]
        for blob in sb.state.blobs.all_blobs()
        if now - timedelta(days=7) <= blob.created <= now
        for r in blob.records
    }


def _connect(data: Path, sb: O365Sandbox, url: str, tls: SandboxTLS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCASB_")}
    env.update(
        OPENCASB_DATA_DIR=str(data),
        OPENCASB_SECRET_KEY="",
        O365_CLIENT_SECRET=sb.credentials.client_secret,
    )
    creds = sb.credentials
    subprocess.run(
        [*CLI, "connect", "office365", "--tenant-id", creds.tenant_id,
         "--client-id", creds.client_id, "--endpoint", url, "--ca-bundle", str(tls.ca_cert),
         "--requests-per-minute", "60000"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return env


def _sync_until_done(env: dict[str, str], attempts: int = 5) -> None:
    """`sync --once` until it succeeds: a transient failure ends a run, as in the scheduler."""
    for _ in range(attempts):
        done = subprocess.run(
            [*CLI, "sync", "--once"], env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return
    raise AssertionError(done.stderr + done.stdout)


def test_backfill_over_https_equals_the_week_the_api_holds(
    served: tuple[O365Sandbox, str], tls: SandboxTLS, tmp_path: Path
) -> None:
    sb, url = served
    env = _connect(tmp_path, sb, url, tls)
    _sync_until_done(env, attempts=1)
    ids, count = stored(tmp_path, "office365")
    truth = _truth(sb)
    assert ids == truth and count == len(truth)


def test_sigkill_at_random_moments_with_faults_loses_nothing(
    faulty: tuple[O365Sandbox, str], tls: SandboxTLS, tmp_path: Path
) -> None:
    sb, url = faulty
    env = _connect(tmp_path, sb, url, tls)
    truth = _truth(sb)
    # Until 20 kills have landed mid-backfill: a run that a fault ends early is not one.
    mid_backfill = kill_during_backfill(
        env, tmp_path, "office365", truth, seed=21, runs=40, enough=20
    )
    _sync_until_done(env)
    ids, count = stored(tmp_path, "office365")
    assert mid_backfill >= 20, "too few kills landed while the backfill was still running"
    assert ids == truth and count == len(truth)
