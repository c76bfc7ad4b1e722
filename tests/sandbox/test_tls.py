"""Sandbox TLS material and the HTTPS loopback server."""

from __future__ import annotations

import ssl
import stat
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from opencasb.clock import FakeClock
from opencasb.sandbox.okta import OktaState, create_okta_app
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls


def test_tls_files_are_written_private_and_reused(tmp_path):
    tls = ensure_sandbox_tls(tmp_path / "tls")
    for key in (tls.ca_key, tls.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = tls.server_cert.read_bytes()
    again = ensure_sandbox_tls(tmp_path / "tls")
    assert again == tls and again.server_cert.read_bytes() == first
    # Near expiry (or a new host name) the certificates are made again.
    later = datetime.now(UTC) + timedelta(days=365)
    assert ensure_sandbox_tls(tmp_path / "tls", now=later).server_cert.read_bytes() != first
    renewed = tls.server_cert.read_bytes()
    hosts = ("localhost", "127.0.0.1", "::1", "org.okta.test")
    assert ensure_sandbox_tls(tmp_path / "tls", hosts).server_cert.read_bytes() != renewed


@pytest.mark.e2e
def test_https_server_on_loopback(tmp_path, helpers):
    tls = ensure_sandbox_tls(tmp_path / "tls")
    state = OktaState.from_seed(helpers.build_seed(20), clock=FakeClock(helpers.NOW))
    state.add_api_token("tok", owner_user_id="00u00000000000000001")
    app = create_okta_app(state)
    server = SandboxServer(app, tls, host="127.0.0.1", port=0).start()
    try:
        assert server.port > 0 and server.base_url == f"https://127.0.0.1:{server.port}"
        ctx = ssl.create_default_context(cafile=str(tls.ca_cert))
        with httpx.Client(base_url=server.base_url, verify=ctx) as client:
            r = client.get("/api/v1/logs", headers={"Authorization": "SSWS tok"})
            assert r.status_code == 200 and len(r.json()) == 20
            nxt = helpers.links(r)["next"]
            assert nxt.startswith(f"https://127.0.0.1:{server.port}/api/v1/logs?")
            assert client.get(nxt, headers={"Authorization": "SSWS tok"}).json() == []
        # Without the sandbox CA the certificate is not trusted.
        with httpx.Client(base_url=server.base_url) as client, pytest.raises(httpx.ConnectError):
            client.get("/api/v1/logs")
    finally:
        server.stop()
    assert not server._thread.is_alive()


def test_the_listening_socket_sends_without_delay(tmp_path, helpers):
    """Accepted connections inherit TCP_NODELAY; without it every response written as two TLS
    records waited ~40 ms for the client's delayed ACK (found in the Office 365 backfill)."""
    import socket

    tls = ensure_sandbox_tls(tmp_path / "tls")
    state = OktaState.from_seed(helpers.build_seed(1), clock=FakeClock(helpers.NOW))
    server = SandboxServer(create_okta_app(state), tls, port=0)
    try:
        assert server._thread.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        server.stop()  # never started: closes the socket
