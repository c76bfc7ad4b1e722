"""`--log-level` and `--log-format`: logs go to stderr as JSON lines, stdout stays for data."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Cli, assert_clean


def _log_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line as JSON (fails on the first line that is not)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_a_json_debug_sync_writes_json_lines_to_stderr_only(synced: Cli) -> None:
    result = synced("--log-level", "debug", "--log-format", "json", "sync", "--once")
    assert_clean(result)
    assert result.exit_code == 0, result.output
    lines = _log_lines(result.stderr)
    assert any(line["logger"] == "opencasb.http.client" for line in lines)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert synced.served.token not in result.stderr and synced.served.token not in result.stdout
    assert not any(line.lstrip().startswith("{") for line in result.stdout.splitlines())


def test_activities_json_stays_parseable_with_debug_logs(reader: Cli) -> None:
    result = reader.ok(
        "--log-level", "debug", "--log-format", "json", "activities", "--format", "json"
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all("source_event_id" in row for row in rows)
    _log_lines(result.stderr)


def test_the_settings_choose_the_level_and_the_option_beats_them(synced: Cli) -> None:
    env: dict[str, str | None] = {"OPENCASB_LOG_LEVEL": "debug", "OPENCASB_LOG_FORMAT": "json"}
    by_setting = synced("sync", "--once", env=env)
    assert by_setting.exit_code == 0, by_setting.output
    assert any(line["level"] == "debug" for line in _log_lines(by_setting.stderr))
    by_option = synced("--log-level", "error", "sync", "--once", env=env)
    assert by_option.exit_code == 0, by_option.output
    assert _log_lines(by_option.stderr) == []


def test_an_unknown_level_or_format_is_a_usage_error(reader: Cli) -> None:
    for args in (("--log-level", "verbose"), ("--log-format", "xml")):
        result = reader(*args, "apps")
        assert_clean(result)
        assert result.exit_code == 2
        assert args[0] in result.stderr
