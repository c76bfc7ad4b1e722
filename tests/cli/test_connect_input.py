"""`connect` refuses hostile or mangled input cleanly: credentials in an endpoint URL and
tokens an HTTP header cannot carry end in a message and exit code 1, never a traceback."""

from __future__ import annotations

import pytest

from opencasb.cli.secrets import check_secret
from opencasb.errors import ConfigError

from .conftest import Cli, assert_clean, flat

_TENANT = "00000000-0000-4000-8000-000000000001"


def _o365(cli: Cli, endpoint: str, secret: str = "s3cret-Value_123") -> tuple[int, str]:
    result = cli(
        "connect", "office365", "--tenant-id", _TENANT, "--client-id", _TENANT,
        "--endpoint", endpoint, "--skip-test",
        env={"O365_CLIENT_SECRET": secret},
    )  # fmt: skip
    assert_clean(result)
    return result.exit_code, flat(result.stderr)


@pytest.mark.parametrize(
    "endpoint",
    ["https://admin:hunter2@127.0.0.1:8443", "https://admin@graph.example.com", "https://:pw@h.io"],
)
def test_endpoint_with_credentials_is_refused(cli: Cli, endpoint: str) -> None:
    code, err = _o365(cli, endpoint)
    assert code == 1
    assert "holds credentials (user:password@)" in err
    assert "hunter2" not in err and "pw@" not in err
    assert not cli.db_path.exists() or "office365" not in cli.ok("apps").stdout


@pytest.mark.parametrize(
    "endpoint", ["https://h.example.com\x00", "HTTPS://h.example.com/path", "http://h.example.com"]
)
def test_endpoint_that_is_not_an_https_origin_is_refused(cli: Cli, endpoint: str) -> None:
    code, err = _o365(cli, endpoint)
    assert code == 1 and "is not an https origin" in err


def test_endpoint_is_stored_as_parsed(cli: Cli) -> None:
    code, err = _o365(cli, "HTTPS://Graph.Example.com:443/")
    assert code == 0, err
    store = cli.open_store()
    try:
        assert store.get_instance("office365").config["endpoint"] == "https://graph.example.com"
    finally:
        store.close()


@pytest.mark.parametrize("token", ["00abc\u2019def", "00abc\u00a0def", "tøken", "tok\x1ben"])
def test_non_ascii_token_is_refused_cleanly(cli: Cli, token: str) -> None:
    result = cli.connect(token=token)
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "which an HTTP header cannot carry (headers are ASCII)" in err
    assert "fix: copy the Okta API token again" in err
    assert token not in result.output
    assert not cli.db_path.exists() or "okta" not in cli.ok("apps").stdout


def test_non_ascii_client_secret_is_refused_cleanly(cli: Cli) -> None:
    code, err = _o365(cli, "https://graph.example.com", secret="s3cr\u00e9t")
    assert code == 1 and "U+00E9 at position 5" in err


def test_check_secret_keeps_pem_text() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"
    assert check_secret("key", pem) == pem
    with pytest.raises(ConfigError, match="U\\+00A0 at position 2"):
        check_secret("token", "a\u00a0b")


@pytest.mark.parametrize(
    "domain",
    ["https://admin:hunter2@acme.okta.com", "admin:hunter2@acme.okta.com", "x@acme.okta.com"],
)
def test_okta_domain_with_credentials_is_refused_without_echoing_them(
    cli: Cli, domain: str
) -> None:
    result = cli("connect", "okta", "--domain", domain, env={"OKTA_API_TOKEN": "00abc"})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "the Okta domain holds credentials (user:password@host)" in err
    assert "hunter2" not in result.output
