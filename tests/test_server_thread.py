"""The uvicorn thread the portal and the sandbox emulators run in: it serves once start()
returns, stop() closes its socket, and a server that cannot start says why at once."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from opencasb.server_thread import ServerThread, bound_socket


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello " + scope["path"].encode()})


def test_serves_until_stopped() -> None:
    sock = bound_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = ServerThread(hello, sock, name="t-hello", what="the test server")
    server.start()
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/x", timeout=5)
        assert (answer.status_code, answer.text) == (200, "hello /x")
    finally:
        server.stop()
    assert not server.is_alive()
    assert sock.fileno() == -1  # closed: the port is free again
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/x", timeout=5)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    # uvicorn reads its TLS files before its startup hook: the failure must still end start()
    # (not after its timeout) and carry uvicorn's error.
    sock = bound_socket("127.0.0.1", 0)
    missing = tmp_path / "missing.pem"
    server = ServerThread(
        hello, sock, name="t-tls", what="the TLS test server", ssl_certfile=str(missing)
    )
    with pytest.raises(RuntimeError, match="the TLS test server did not start") as err:
        server.start(timeout=60)
    assert isinstance(err.value.__cause__, OSError)
    assert sock.fileno() == -1


def test_a_busy_port_fails_at_bind() -> None:
    taken = bound_socket("127.0.0.1", 0)
    taken.listen()
    try:
        with pytest.raises(OSError):
            bound_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def test_socket_options_are_applied_before_bind() -> None:
    sock = bound_socket("127.0.0.1", 0, (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.family == socket.AF_INET
    finally:
        sock.close()
