"""Assertions shared by the web tests."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from typer.testing import CliRunner

from opencasb.cli import app


def assert_problem(r: httpx.Response, status: int, code: str | None) -> dict[str, object]:
    """``r`` is an RFC 9457 problem with this status (and ``code``, unless None)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
        assert body["type"] == f"urn:opencasb:problem:{code}"
    return dict(body)


def cli_json(store_url: str, key: bytes, data_dir: str) -> Callable[..., list[dict[str, object]]]:
    """A runner of ``opencasb`` on the portal's store (its URL, key and data directory):
    each call's JSON lines, parsed; a non-zero exit fails the test."""
    env = {
        "OPENCASB_DATABASE_URL": store_url,
        "OPENCASB_SECRET_KEY": key.decode(),
        "OPENCASB_CONFIG": None,
        "OPENCASB_DATA_DIR": data_dir,
    }

    def run(*args: str) -> list[dict[str, object]]:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    return run
