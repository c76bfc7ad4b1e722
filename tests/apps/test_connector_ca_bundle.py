"""A ``ca_bundle`` setting is trusted by every connector the same way (the base class does it):
an SSL context with the bundle, unless the caller already chose what to verify."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from opencasb.apps.base import AppConnector, HttpOptions
from opencasb.apps.office365.connector import Office365Connector
from opencasb.apps.okta.connector import OktaConnector
from opencasb.errors import ConfigError
from opencasb.sandbox.tls import ensure_sandbox_tls

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
MAKERS: dict[str, Callable[[dict[str, str], HttpOptions | None], AppConnector]] = {
    "okta": lambda extra, http: OktaConnector(
        {"domain": "https://acme.okta.com", **extra}, {"token": "00token"}, http=http
    ),
    "office365": lambda extra, http: Office365Connector(
        {"tenant_id": TENANT, "client_id": CLIENT, **extra},
        {"client_secret": "s3cret-value"},
        http=http,
    ),
}


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[..., AppConnector]:
    return MAKERS[request.param]


def test_a_ca_bundle_is_trusted(make: Callable[..., AppConnector], tmp_path: Path) -> None:
    tls = ensure_sandbox_tls(tmp_path / "tls")
    conn = make({"ca_bundle": str(tls.ca_cert)}, None)
    assert isinstance(conn.http.verify, ssl.SSLContext)
    assert conn.http.verify.get_ca_certs()  # the sandbox CA is loaded
    assert make({}, None).http.verify is True  # no bundle: the system store


def test_the_callers_choice_wins(make: Callable[..., AppConnector], tmp_path: Path) -> None:
    tls = ensure_sandbox_tls(tmp_path / "tls")
    conn = make({"ca_bundle": str(tls.ca_cert)}, HttpOptions(verify=False))
    assert conn.http.verify is False


def test_a_missing_bundle_is_a_config_error(
    make: Callable[..., AppConnector], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as err:
        make({"ca_bundle": str(tmp_path / "missing.pem")}, None)
    assert "ca_bundle" in err.value.fix
