"""Shared by the detection end-to-end tests: one synthetic organisation's Okta org and
Office 365 tenant served over real HTTPS on loopback, `opencasb` connected to both in a data
folder, and readers for what its detection stage committed. Import as ``tests.e2e.apps``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from tests.e2e.crashes import CLI

from opencasb.clock import SystemClock
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.okta import RateLimits, generate_rsa_keypair
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.scenarios import ScenarioPlan
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import SandboxTLS

__all__ = ["Alert", "Org", "alerts", "connect", "serve_org", "source_ids", "stage_cursor", "sync"]

_FAST = Limits(activity_per_minute=1_000_000, shared_pool_per_minute=1_000_000)


@dataclass
class Org:
    """Both emulators of one organisation and their base URLs."""

    okta: OktaSandbox
    okta_url: str
    o365: O365Sandbox
    o365_url: str
    tls: SandboxTLS


@contextmanager
def serve_org(
    tls: SandboxTLS,
    *,
    seed: int,
    size: int,
    okta_days: int,
    o365_days: int,
    end: datetime,
    scenarios: ScenarioPlan | None = None,
) -> Iterator[Org]:
    """Serve the org of ``(seed, size)``: ``okta_days`` of System Log and ``o365_days`` of
    audit content ending at ``end``, on the system clock, no live trickle (so nothing moves
    unless a test publishes it), plus the records of ``scenarios``."""
    clock = SystemClock()
    okta = build_okta_sandbox(
        seed=seed, size=size, days=okta_days, clock=clock, anchor=end,
        rate_limits=RateLimits(logs=100_000), oauth_key_pem=generate_rsa_keypair(),
        scenarios=scenarios,
    )  # fmt: skip
    o365 = build_o365_sandbox(
        seed=seed, size=size, days=o365_days, clock=clock, anchor=end, limits=_FAST,
        scenarios=scenarios,
    )  # fmt: skip
    with SandboxServer(okta.app, tls) as a, SandboxServer(o365.app, tls) as b:
        yield Org(okta, a.base_url, o365, b.base_url, tls)


def connect(data: Path, org: Org, *, o365: bool = True) -> dict[str, str]:
    """Connect `opencasb` in ``data`` to the org's Okta (and Office 365); returns the
    environment every later command of the test runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCASB_", "OKTA_"))}
    env.update(
        OPENCASB_DATA_DIR=str(data),
        OPENCASB_SECRET_KEY="",
        OKTA_API_TOKEN=org.okta.credentials.token,
        O365_CLIENT_SECRET=org.o365.credentials.client_secret,
    )
    ca = str(org.tls.ca_cert)
    commands = [["okta", "--domain", org.okta_url, "--ca-bundle", ca]]
    if o365:
        creds = org.o365.credentials
        commands.append(
            ["office365", "--tenant-id", creds.tenant_id, "--client-id", creds.client_id,
             "--endpoint", org.o365_url, "--ca-bundle", ca, "--requests-per-minute", "60000"]
        )  # fmt: skip
    for args in commands:
        done = subprocess.run(
            [*CLI, "connect", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr + done.stdout
    return env


def sync(env: dict[str, str]) -> str:
    """One `opencasb sync --once` to its end (ingest, then detection); its output."""
    done = subprocess.run(
        [*CLI, "sync", "--once"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data / 'opencasb.db'}?mode=ro", uri=True, timeout=5)


@dataclass(frozen=True)
class Alert:
    """A stored alert as the tests compare it: evidence as source event ids (Okta ``uuid``,
    Office 365 ``Id``), so two stores that numbered their rows differently compare equal."""

    id: str
    policy_id: str
    entity: str
    evidence: tuple[str, ...]
    evidence_rows: tuple[int, ...]
    explanation: str
    first_time: str
    last_time: str


def source_ids(data: Path) -> dict[int, tuple[str, str]]:
    """Every stored activity: row id -> (app, source event id)."""
    with closing(_db(data)) as db:
        rows = db.execute(
            "SELECT a.id, i.app, a.source_event_id FROM activities a "
            "JOIN instances i ON i.id = a.instance_id"
        ).fetchall()
    return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}


def alerts(data: Path) -> list[Alert]:
    """Every stored alert, by id."""
    ids = source_ids(data)
    with closing(_db(data)) as db:
        rows = db.execute(
            "SELECT id, policy_id, entity, evidence, explanation, first_time, last_time "
            "FROM alerts ORDER BY id"
        ).fetchall()
    out = []
    for aid, policy, entity, evidence, text, first, last in rows:
        rows_ = tuple(int(i) for i in _evidence(evidence))
        source = tuple(ids[i][1] if i in ids else f"missing:{i}" for i in rows_)
        out.append(Alert(aid, policy, entity, source, rows_, text, str(first), str(last)))
    return out


def _evidence(value: Any) -> list[Any]:
    parsed = orjson.loads(value) if isinstance(value, str | bytes) else value
    assert isinstance(parsed, list), f"evidence is stored as {value!r}"
    return parsed


def stage_cursor(data: Path, stage: str = "detect.anomaly") -> int:
    """A detection stage's committed cursor (0 before its first commit): by default the
    anomaly detections' (``detect.policies`` is the policies')."""
    with closing(_db(data)) as db:
        try:
            row = db.execute("SELECT cursor FROM stage_state WHERE stage = ?", (stage,))
            found = row.fetchone()
        except sqlite3.Error:
            return 0
    return int(found[0]) if found else 0


def last_activity(data: Path) -> int:
    with closing(_db(data)) as db:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM activities").fetchone()[0])


def anchor() -> datetime:
    """History ends two minutes ago: everything published is visible when the test starts."""
    return SystemClock().now() - timedelta(minutes=2)
