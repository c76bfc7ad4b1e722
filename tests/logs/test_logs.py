"""The log handler: JSON and text lines, context fields, secret masking, and the retry lines of
the HTTP client."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencasb.apps.base import HttpOptions
from opencasb.apps.okta.errors import OKTA_POLICY
from opencasb.clock import FakeClock
from opencasb.config import load_settings
from opencasb.errors import ConfigError
from opencasb.http import ApiClient
from opencasb.logs import configure, log_context, new_error_ref, remember_secret

log = logging.getLogger("opencasb.tests.logs")


class Captured:
    """What the configured handler wrote."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines()]


@pytest.fixture
def capture() -> Iterator[Callable[..., Captured]]:
    root = logging.getLogger()
    level = root.level
    handlers: list[logging.Handler] = []

    def make(level: str = "debug", fmt: str = "json") -> Captured:
        out = Captured()
        handlers.append(configure(level, fmt, stream=out.stream))
        return out

    yield make
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def test_a_json_line_holds_time_level_logger_message_and_the_extra_fields(
    capture: Callable[..., Captured],
) -> None:
    out = capture()
    log.info("page stored: %d records", 12, extra={"instance": "okta", "records": 12})
    (line,) = out.lines()
    assert line["level"] == "info" and line["logger"] == "opencasb.tests.logs"
    assert line["message"] == "page stored: 12 records"
    assert line["instance"] == "okta" and line["records"] == 12
    assert line["time"].endswith("+00:00") and "T" in line["time"]


def test_an_exception_is_a_traceback_field(capture: Callable[..., Captured]) -> None:
    out = capture()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("run failed", extra={"instance": "okta"})
    (line,) = out.lines()
    assert line["traceback"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: boom" in line["traceback"]


def test_values_json_cannot_hold_are_written_as_text(capture: Callable[..., Captured]) -> None:
    out = capture()
    log.info("odd", extra={"path": Path("/x"), "items": {"a": (1, 2)}, "n": None})
    (line,) = out.lines()
    assert line["path"] == "/x" and line["items"] == {"a": [1, 2]} and line["n"] is None


def test_the_level_drops_what_is_below_it(capture: Callable[..., Captured]) -> None:
    out = capture("warning")
    log.info("quiet")
    log.warning("loud")
    assert [line["message"] for line in out.lines()] == ["loud"]


def test_the_text_format_is_one_line_with_key_value_fields(
    capture: Callable[..., Captured],
) -> None:
    out = capture("info", "text")
    log.info("sync finished", extra={"instance": "my okta", "records": 3})
    (line,) = out.text().splitlines()
    assert " INFO opencasb.tests.logs: sync finished " in line
    assert 'instance="my okta"' in line and "records=3" in line


def test_the_text_format_shows_terminal_escapes_as_text(
    capture: Callable[..., Captured],
) -> None:
    """API error text and audit data reach the log: a text line must not clear the screen,
    retitle the window or write the clipboard of the operator's terminal."""
    out = capture("info", "text")
    hostile = "denied\x1b[2J\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07\u202eexe.txt"
    try:
        raise ValueError(hostile)
    except ValueError:
        log.exception("upstream said %s", hostile, extra={"feed": hostile})
    text = out.text()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "\\u202e" in text
    assert "Traceback" in text  # the traceback keeps its lines


def test_configure_twice_keeps_one_handler(capture: Callable[..., Captured]) -> None:
    first = capture()
    second = capture()
    log.warning("once")
    assert first.text() == "" and len(second.lines()) == 1


def test_bad_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure("verbose", "json")
    with pytest.raises(ValueError, match="log format"):
        configure("info", "xml")


def test_context_fields_reach_every_line_inside_and_extra_wins(
    capture: Callable[..., Captured],
) -> None:
    out = capture()
    with log_context(instance="okta"), log_context(feed="logs"):
        log.info("inside")
        log.info("override", extra={"feed": "inventory"})
    log.info("outside")
    inside, override, outside = out.lines()
    assert (inside["instance"], inside["feed"]) == ("okta", "logs")
    assert override["feed"] == "inventory"
    assert "instance" not in outside


def test_remembered_secrets_are_masked_in_message_fields_and_traceback(
    capture: Callable[..., Captured],
) -> None:
    secret = "00TopSecretTokenValue-" + new_error_ref()
    remember_secret(secret)
    out = capture()
    log.info("token %s", secret, extra={"detail": f"x{secret}y", "form": {"k": [secret, 1]}})
    try:
        raise ValueError(f"bad {secret}")
    except ValueError:
        log.exception("failed")
    text = out.text()
    assert secret not in text
    assert text.count("***") >= 4
    assert out.lines()[0]["form"] == {"k": ["***", 1]}  # structure kept, secret masked


@pytest.mark.parametrize(
    "leak",
    [
        "Authorization: SSWS 00abcdefghijklmnop",
        "authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "grant_type=client_credentials&client_secret=Xy7~abcdefgh&scope=x",
        '{"access_token": "eyJabcdefghijk", "expires_in": 3600}',
    ],
)
def test_credential_shaped_values_are_masked_even_when_unknown(
    capture: Callable[..., Captured], leak: str
) -> None:
    out = capture()
    log.warning("upstream said %s", leak)
    message = out.lines()[0]["message"]
    for part in ("00abcdefghijklmnop", "eyJhbGci", "MIIEvQIB", "Xy7~abcdefgh", "eyJabcdefghijk"):
        assert part not in message
    assert "***" in message


def test_log_settings_come_from_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENCASB_LOG_LEVEL", "OPENCASB_LOG_FORMAT", "OPENCASB_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert (load_settings().log_level, load_settings().log_format) == ("error", "text")
    cfg = tmp_path / "opencasb.toml"
    cfg.write_text('log_level = "info"\nlog_format = "json"\n')
    monkeypatch.setenv("OPENCASB_CONFIG", str(cfg))
    assert (load_settings().log_level, load_settings().log_format) == ("info", "json")
    monkeypatch.setenv("OPENCASB_LOG_LEVEL", "DEBUG")
    assert load_settings().log_level == "debug"
    assert load_settings(log_level="error").log_level == "error"
    monkeypatch.setenv("OPENCASB_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError):
        load_settings()


# -- the HTTP client's retry lines ----------------------------------------------------------

TOKEN = "00RetryLogSecretToken0123456789"


class _Auth:
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {TOKEN}"}

    def invalidate(self) -> bool:
        return False


def _client(answers: list[httpx.Response], clock: FakeClock) -> ApiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=[])

    return ApiClient(
        "https://acme.okta.com",
        app="okta",
        auth=_Auth(),
        policy=OKTA_POLICY,
        http=HttpOptions(transport=httpx.MockTransport(handler), clock=clock, max_retries=3),
        secrets=[TOKEN],
        rng=random.Random(1),
    )


def test_each_retry_is_logged_with_its_attempt_and_delay(
    capture: Callable[..., Captured],
) -> None:
    out = capture()
    clock = FakeClock()
    reset = int(clock.now().timestamp()) + 20
    limited = httpx.Response(
        429,
        json={"errorCode": "E0000047", "errorSummary": "rate limit"},
        headers={
            "x-rate-limit-limit": "120",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    client = _client([httpx.Response(503), limited], clock)
    with log_context(instance="okta", feed="logs"):
        client.get("/api/v1/logs?after=cursor123")
    retries = [line for line in out.lines() if line["level"] == "warning"]
    assert [r["attempt"] for r in retries] == [1, 2]
    assert [r["delay"] for r in retries] == [round(s, 3) for s in clock.sleeps]
    assert retries[0]["code"] == "HTTP 503" and retries[1]["code"] == "E0000047"
    assert all(r["instance"] == "okta" and r["feed"] == "logs" for r in retries)
    text = out.text()
    assert "cursor123" not in text and TOKEN not in text


def test_a_spent_rate_limit_window_logs_the_wait(capture: Callable[..., Captured]) -> None:
    out = capture("info")
    clock = FakeClock()
    reset = int(clock.now().timestamp()) + 30
    spent = httpx.Response(
        200,
        json=[],
        headers={
            "x-rate-limit-limit": "120",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
    )
    client = _client([spent], clock)
    client.get("/api/v1/logs")
    client.get("/api/v1/logs")
    (wait,) = out.lines()
    assert wait["message"].startswith("rate-limit window spent")
    assert wait["delay"] == pytest.approx(clock.sleeps[0], abs=0.001)
