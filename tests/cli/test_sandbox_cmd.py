"""`opencasb sandbox --anchor --seed --no-trickle --request-log`: two runs serve the same data."""

from __future__ import annotations

import json
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from opencasb.cli import sandbox_cmd
from opencasb.errors import ConfigError

from .conftest import _CLEAN_ENV, COMMAND

ANCHOR = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
SETTLED = ANCHOR - timedelta(seconds=30)  # every event published before this is persisted


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _walk(info: dict[str, Any]) -> list[Any]:
    """What a client reads: a bounded day, and the polled log published before SETTLED."""
    out: list[Any] = []
    with httpx.Client(
        base_url=info["okta_url"],
        verify=ssl.create_default_context(cafile=info["ca_bundle"]),
        headers={"Authorization": f"SSWS {info['token']}"},
    ) as client:
        bounded = client.get(
            "/api/v1/logs",
            params={"since": _iso(ANCHOR - timedelta(days=1)), "until": _iso(SETTLED)},
        )
        # Links name the host, and --port 0 picks another port each run.
        links = [v.replace(info["okta_url"], "") for v in bounded.headers.get_list("link")]
        out.append((bounded.status_code, bounded.json(), links))
        url, params = "/api/v1/logs", {"since": _iso(ANCHOR - timedelta(days=2)), "limit": 500}
        for _ in range(10):
            r = client.get(url, params=params)
            events = r.json()
            settled = [e for e in events if e["published"] < _iso(SETTLED)]
            out.append((r.status_code, settled))
            if len(events) < 500:
                break
            url, params = r.links["next"]["url"], {}
    return out


def _run(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[str]]:
    """One `opencasb sandbox` run, stopped once a client has read its pages."""
    stop = threading.Event()
    monkeypatch.setattr(sandbox_cmd, "wait_for_stop", lambda: stop)
    out_file, log_file = data_dir / "okta.json", data_dir / f"requests-{id(stop)}.jsonl"
    out_file.unlink(missing_ok=True)
    seen: list[Any] = []

    def client() -> None:
        try:
            info = None
            while info is None and not stop.wait(0.05):
                try:  # written once the emulator serves; may be caught half-written
                    info = json.loads(out_file.read_text())
                except (OSError, ValueError):
                    continue
            if info is not None:
                seen.extend(_walk(info))
        finally:
            stop.set()

    worker = threading.Thread(target=client)
    worker.start()
    args = [
        "sandbox", "--port", "0", "--o365-port", "-1", "--size", "50", "--days", "3",
        "--seed", "5", "--anchor", "2026-10-20T08:00:00Z", "--no-trickle",
        "--request-log", str(log_file), "--out", str(out_file),
    ]  # fmt: skip
    env = {**_CLEAN_ENV, "OPENCASB_DATA_DIR": str(data_dir)}
    result = CliRunner().invoke(COMMAND, args, env=env)
    stop.set()
    worker.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert "request log:" in result.output
    return seen, log_file.read_text().splitlines()


def test_two_pinned_runs_serve_identical_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, first_log = _run(tmp_path, monkeypatch)
    second, second_log = _run(tmp_path, monkeypatch)
    assert first == second
    assert first[0][0] == 200 and len(first[0][1]) == 100  # a full default page
    assert sum(len(page[1]) for page in first[1:]) > 100
    a = [json.loads(line) for line in first_log]
    b = [json.loads(line) for line in second_log]
    assert len(a) == len(first) and a[0]["time"].startswith("2026-10-20T08:00:")
    assert {e["status"] for e in a} == {200} and {e["bucket"] for e in a} == {"logs"}
    assert {e["service"] for e in a} == {"okta"}
    without_time = [{k: v for k, v in e.items() if k != "time"} for e in a]
    assert without_time == [{k: v for k, v in e.items() if k != "time"} for e in b]


def test_anchor_must_be_a_time() -> None:
    assert sandbox_cmd.parse_anchor("2026-10-20T08:00:00Z") == ANCHOR
    assert sandbox_cmd.parse_anchor("2026-10-20T10:00:00+02:00") == ANCHOR
    assert sandbox_cmd.parse_anchor("2026-10-20T08:00:00") == ANCHOR  # naive is UTC
    assert sandbox_cmd.parse_anchor(None) is None
    with pytest.raises(ConfigError) as exc:
        sandbox_cmd.parse_anchor("yesterday")
    assert "2026-11-01T12:00:00Z" in (exc.value.fix or "")
