"""`opencasb demo` as a user runs it: a child process, real HTTPS on loopback, SQLite."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "opencasb.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCASB_", "OKTA_"))}
    return subprocess.run(
        [*CLI, "demo", "--size", "50", "--days", "2", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_demo_backfills_and_reports_ready(tmp_path: Path) -> None:
    done = _run("--port", "0", "--data-dir", str(tmp_path / "demo"), "--exit-when-ready")
    assert done.returncode == 0, done.stderr
    assert "ready in" in done.stdout and "activities stored" in done.stdout
    assert (tmp_path / "demo" / "opencasb.db").exists()
    # the demo's Tor, VPN and office lists are stored IP tags (source demo), once
    with sqlite3.connect(tmp_path / "demo" / "opencasb.db") as db:
        tags = dict(
            db.execute("SELECT tag, count(*) FROM ip_tags WHERE source = 'demo' GROUP BY tag")
        )
        version = db.execute("SELECT version FROM ip_tag_version").fetchone()[0]
    assert set(tags) == {"tor", "vpn", "corporate"} and version == 1
    again = _run("--port", "0", "--data-dir", str(tmp_path / "demo"), "--exit-when-ready")
    assert again.returncode == 0, again.stderr
    # A second run reuses the store: the emulator moved to another port, so the demo starts
    # the feed over and every event already stored comes back as a dropped duplicate.
    assert re.search(r"[1-9][\d,]* duplicate", again.stdout), again.stdout
    with sqlite3.connect(tmp_path / "demo" / "opencasb.db") as db:
        assert db.execute("SELECT version FROM ip_tag_version").fetchone()[0] == 1


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = _run("--port", str(port), "--data-dir", str(tmp_path / "d"), "--exit-when-ready")
    assert done.returncode == 1
    assert "--port 0" in done.stderr and "Traceback" not in done.stderr


def test_every_labelled_scenario_is_in_the_store_after_the_backfill(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    # Nine days of Okta: the scenarios must stay inside Office 365's shorter (7-day) backfill.
    options = ["--size", "60", "--days", "9", "--port", "0", "--exit-when-ready"]
    done = subprocess.run(
        [*CLI, "demo", *options, "--data-dir", str(data)],
        env={k: v for k, v in os.environ.items() if not k.startswith(("OPENCASB_", "OKTA_"))},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    truth = json.loads((data / "ground-truth.json").read_text())
    entries = truth["scenarios"]
    kinds = {e["kind"] for e in entries}
    assert kinds == {"attack", "benign"}
    with sqlite3.connect(data / "opencasb.db") as db:
        stored = {row[0] for row in db.execute("SELECT source_event_id FROM activities")}
    for entry in entries:
        missing = set(entry["activity_ids"]) - stored
        assert not missing, f"{entry['scenario']}: {len(missing)} activities not stored"
    # the detection stage ran after the backfill, with the templates the demo enabled
    with sqlite3.connect(data / "opencasb.db") as db:
        policies = {r[0] for r in db.execute("SELECT policy_id FROM alerts")}
    assert {"failed-sign-ins", "password-spray", "new-super-admin"} <= policies
    # and the demo's own Sigma rules (package data): each one catches its attack
    sigma_ids = {
        "16f90a1e-e0e7-47ea-bfa1-6f74317db592",  # MFA factor deactivated or reset
        "9c14d59b-46d6-4971-9ee2-4a4bb49ce5d9",  # admin role assigned
        "c8e78b07-a3cb-4252-8349-9aeea11d150b",  # API token created
        "87841990-6f3c-49ec-ad85-859acd808847",  # inbox rule forwards or deletes
        "55841a3f-f09d-4cbf-b73d-f6fb9cd79a96",  # mailbox forwarding address
    }
    assert {f"sigma.{i}" for i in sigma_ids} <= policies
    assert "raised by the policy templates" in done.stdout
