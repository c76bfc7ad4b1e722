"""End to end over real HTTPS on loopback: the CLI in subprocesses against the emulator.

The emulator runs in this process (so the test knows the ground truth); ``opencasb`` runs
as a child process exactly as a user would start it, and is SIGKILLed at random moments.
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
from opencasb.sandbox.okta import RateLimits, generate_rsa_keypair
from opencasb.sandbox.okta.state import epoch_ms
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import SandboxTLS, ensure_sandbox_tls

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return ensure_sandbox_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def served(tls: SandboxTLS) -> Iterator[tuple[OktaSandbox, str]]:
    clock = SystemClock()
    # History ends two minutes ago, so every event (persisted up to ~20 s after it was
    # published) is already visible: the truth does not move while the test runs.
    sb = build_okta_sandbox(
        seed=11,
        size=200,
        days=59,  # inside the 60-day backfill window, so the whole log is the truth
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        rate_limits=RateLimits(logs=100_000),
        oauth_key_pem=generate_rsa_keypair(),
    )
    with SandboxServer(sb.app, tls) as server:
        yield sb, server.base_url


def _truth(sb: OktaSandbox) -> set[str]:
    state = sb.state
    blobs = state.log.visible(
        now_ms=epoch_ms(state.clock.now()), min_published_ms=epoch_ms(state.retention_start())
    )
    return {orjson.loads(b)["uuid"] for b in blobs}


def _env(data: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCASB_")}
    env.update(OPENCASB_DATA_DIR=str(data), OKTA_API_TOKEN=token, OPENCASB_SECRET_KEY="")
    return env


def _connect(data: Path, sb: OktaSandbox, url: str, tls: SandboxTLS) -> dict[str, str]:
    env = _env(data, sb.credentials.token)
    subprocess.run(
        [*CLI, "connect", "okta", "--domain", url, "--ca-bundle", str(tls.ca_cert)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return env


def test_backfill_over_https_equals_the_log(
    served: tuple[OktaSandbox, str], tls: SandboxTLS, tmp_path: Path
) -> None:
    sb, url = served
    env = _connect(tmp_path, sb, url, tls)
    done = subprocess.run(
        [*CLI, "sync", "--once"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    ids, count = stored(tmp_path, "okta")
    truth = _truth(sb)
    assert ids == truth and count == len(truth)


def test_sigkill_at_random_moments_then_restart_loses_nothing(
    served: tuple[OktaSandbox, str], tls: SandboxTLS, tmp_path: Path
) -> None:
    sb, url = served
    env = _connect(tmp_path, sb, url, tls)
    truth = _truth(sb)
    mid_backfill = kill_during_backfill(env, tmp_path, "okta", truth, seed=20, runs=20)
    done = subprocess.run(
        [*CLI, "sync", "--once"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    ids, count = stored(tmp_path, "okta")
    assert mid_backfill >= 15, "too few kills landed while the backfill was still running"
    assert ids == truth and count == len(truth)


def test_an_untrusted_certificate_is_explained(served: tuple[OktaSandbox, str]) -> None:
    from opencasb.apps.okta.connector import OktaConnector
    from opencasb.http.options import HttpOptions

    sb, url = served
    conn = OktaConnector(
        {"domain": url}, {"token": sb.credentials.token}, http=HttpOptions(max_retries=0)
    )
    try:
        check = conn.test()
    finally:
        conn.close()
    assert not check.ok and check.error is not None
    assert check.error.code == "TLS"
    assert "certificate" in check.error.meaning and "ca_bundle" in check.error.fix


def test_the_connection_test_passes_with_the_sandbox_ca(
    served: tuple[OktaSandbox, str], tls: SandboxTLS
) -> None:
    from opencasb.apps.okta.connector import OktaConnector

    _sb, url = served
    conn = OktaConnector({"domain": url, "ca_bundle": str(tls.ca_cert)}, {"token": "00wrong"})
    try:
        check = conn.test()
    finally:
        conn.close()
    assert not check.ok and check.error is not None and check.error.code == "E0000011"
