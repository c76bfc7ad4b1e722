"""The retry loop and error policy, with the transport faked below the HTTP client."""

import random
from collections.abc import Callable

import httpx
import pytest

from opencasb.apps.okta.errors import OKTA_POLICY
from opencasb.clock import FakeClock
from opencasb.errors import (
    AuthFailed,
    ConfigError,
    ConnectionFailed,
    DnsFailed,
    PermissionDenied,
    TlsFailed,
    UnsafeResponse,
    UpstreamError,
)
from opencasb.http import ApiClient
from opencasb.http.options import HttpOptions

TOKEN = "00abcdefSECRETtoken1234"


class _Auth:
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"SSWS {TOKEN}"}

    def invalidate(self) -> bool:
        return False


def _client(handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock) -> ApiClient:
    return ApiClient(
        "https://acme.okta.com",
        app="okta",
        auth=_Auth(),
        policy=OKTA_POLICY,
        http=HttpOptions(transport=httpx.MockTransport(handler), clock=clock, max_retries=3),
        secrets=[TOKEN],
        rng=random.Random(1),
    )


def _okta_error(status: int, code: str, summary: str) -> httpx.Response:
    return httpx.Response(status, json={"errorCode": code, "errorSummary": summary})


def test_retries_5xx_with_backoff_then_succeeds() -> None:
    clock = FakeClock()
    answers = [_okta_error(500, "E0000009", "Internal Server Error"), httpx.Response(503)]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=[])

    client = _client(handler, clock)
    assert client.get("/api/v1/logs").json() == []
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0


def test_429_waits_until_the_reset_header() -> None:
    clock = FakeClock()
    reset = int(clock.now().timestamp()) + 20
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(
                429,
                json={"errorCode": "E0000047", "errorSummary": "rate limit"},
                headers={
                    "x-rate-limit-limit": "120",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset),
                },
            )
        return httpx.Response(200, json=[])

    client = _client(handler, clock)
    client.get("/api/v1/logs")
    assert client.rate_limited == 1
    assert clock.sleeps[-1] == pytest.approx(21.0)


def test_invalid_token_fails_at_once_with_meaning_and_fix_and_no_secret() -> None:
    clock = FakeClock()
    client = _client(lambda r: _okta_error(401, "E0000011", f"Invalid token {TOKEN}"), clock)
    with pytest.raises(AuthFailed) as info:
        client.get("/api/v1/logs")
    err = info.value
    assert (
        err.code == "E0000011"
        and "API token" in err.meaning
        and "apps edit NAME --new-secret" in err.fix
    )
    assert TOKEN not in str(err)
    assert clock.sleeps == []


def test_missing_permission_is_permission_denied() -> None:
    client = _client(lambda r: _okta_error(403, "E0000006", "no"), FakeClock())
    with pytest.raises(PermissionDenied) as info:
        client.get("/api/v1/logs")
    assert "Read-only admin" in info.value.fix


def test_gives_up_after_the_retry_budget() -> None:
    clock = FakeClock()
    client = _client(lambda r: httpx.Response(502), clock)
    with pytest.raises(UpstreamError):
        client.get("/api/v1/logs")
    assert len(clock.sleeps) == 3


def test_dns_failure_is_explained_and_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    clock = FakeClock()
    with pytest.raises(DnsFailed) as info:
        _client(handler, clock).get("/api/v1/logs")
    assert info.value.code == "DNS" and not info.value.transient
    assert clock.sleeps == []


def test_tls_failure_is_its_own_error_and_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    clock = FakeClock()
    with pytest.raises(TlsFailed) as info:
        _client(handler, clock).get("/api/v1/logs")
    assert isinstance(info.value, ConnectionFailed)  # callers catching the parent still do
    assert info.value.code == "TLS" and not info.value.transient
    assert "ca_bundle" in info.value.fix
    assert clock.sleeps == []


def test_a_refused_connection_is_transient_and_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    clock = FakeClock()
    with pytest.raises(ConnectionFailed) as info:
        _client(handler, clock).get("/api/v1/logs")
    assert type(info.value) is ConnectionFailed and info.value.transient
    assert info.value.code == "CONNECT"
    assert len(clock.sleeps) == 3


def test_non_json_body_is_a_clear_error() -> None:
    client = _client(lambda r: httpx.Response(200, text="<html>login</html>"), FakeClock())
    with pytest.raises(UpstreamError) as info:
        client.get("/api/v1/logs").json()
    assert "not JSON" in str(info.value)


@pytest.mark.parametrize(
    ("link", "sent"),
    [
        ("HTTPS://ACME.okta.com/api/v1/logs?after=2", "https://acme.okta.com/api/v1/logs?after=2"),
        ("https://acme.okta.com:443/api/v1/logs", "https://acme.okta.com/api/v1/logs"),
        ("/api/v1/logs?after=3", "https://acme.okta.com/api/v1/logs?after=3"),
    ],
)
def test_client_sends_the_url_the_guard_checked(link: str, sent: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    _client(handler, FakeClock()).get(link)
    assert seen == [sent]


@pytest.mark.parametrize(
    "link",
    [
        " https://acme.okta.com/api/v1/logs",
        "\x00https://acme.okta.com/api/v1/logs",
        "https://evil.example.com/api/v1/logs",
        "//evil.example.com/api/v1/logs",
        "https://acme.okta.com@evil.example.com/",
    ],
)
def test_client_refuses_links_the_guard_would_refuse(link: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    with pytest.raises(UnsafeResponse):
        _client(handler, FakeClock()).get(link)
    assert seen == []


def test_a_stored_non_ascii_token_is_a_config_error_not_a_crash() -> None:
    class _Bad(_Auth):
        def headers(self) -> dict[str, str]:
            return {"Authorization": "SSWS t\u00f6ken"}

    client = _client(lambda request: httpx.Response(200, json=[]), FakeClock())
    client._auth = _Bad()
    with pytest.raises(ConfigError, match="cannot carry") as caught:
        client.get("/api/v1/logs")
    assert "opencasb apps edit" in caught.value.fix
