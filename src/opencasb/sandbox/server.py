"""Serve an ASGI app over HTTPS on loopback, from a background thread.

    server = SandboxServer(app, tls, host="127.0.0.1", port=0).start()
    ... server.base_url ...   # e.g. https://127.0.0.1:53211
    server.stop()

Port 0 picks a free port: the socket is bound here, before uvicorn starts, so ``port`` is
known as soon as ``start()`` returns. ``start()`` waits until uvicorn is accepting
connections; ``stop()`` asks it to exit and joins the thread.
"""

from __future__ import annotations

import socket
from types import TracebackType

from starlette.types import ASGIApp

from opencasb.sandbox.tls import SandboxTLS
from opencasb.server_thread import ServerThread, bound_socket

__all__ = ["SandboxServer"]


class SandboxServer:
    """One HTTPS server thread. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        app: ASGIApp,
        tls: SandboxTLS,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        # Accepted connections inherit TCP_NODELAY. Without it a response written as two TLS
        # records (headers, then body) waits for the client's delayed ACK: 40 ms a request.
        sock = bound_socket(
            host,
            port,
            (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1),
            (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        )
        self.port: int = sock.getsockname()[1]
        self._thread = ServerThread(
            app,
            sock,
            name=f"sandbox-https-{self.port}",
            what=f"sandbox HTTPS server on {self.base_url}",
            ssl_certfile=str(tls.server_cert),
            ssl_keyfile=str(tls.server_key),
            log_level=log_level,
        )

    @property
    def base_url(self) -> str:
        """``https://host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving; returns once uvicorn accepts connections (or raises RuntimeError)."""
        self._thread.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self._thread.stop(timeout)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
