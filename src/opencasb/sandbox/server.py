"""Serve an ASGI app over HTTPS on loopback, from a background thread.

    server = SandboxServer(app, tls, host="127.0.0.1", port=0).start()
    ... server.base_url ...   # e.g. https://127.0.0.1:53211
    server.stop()

Port 0 picks a free port: the socket is bound here, before uvicorn starts, so ``port`` is
known as soon as ``start()`` returns. ``start()`` waits until uvicorn is accepting
connections; ``stop()`` asks it to exit and joins the thread.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from opencasb.sandbox.tls import SandboxTLS

__all__ = ["SandboxServer"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()  # also on failure, so start() never hangs


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
        self._ready = threading.Event()
        family = socket.AF_INET
        try:
            if ipaddress.ip_address(host).version == 6:
                family = socket.AF_INET6
        except ValueError:
            pass  # a host name such as "localhost": IPv4
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this. Without it a response written as two TLS
        # records (headers, then body) waits for the client's delayed ACK: 40 ms a request.
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            ssl_certfile=str(tls.server_cert),
            ssl_keyfile=str(tls.server_key),
            log_level=log_level,
            lifespan="off",
            access_log=False,
        )
        self._server = _Server(config, self._ready)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"sandbox-https-{self.port}",
        )

    @property
    def base_url(self) -> str:
        """``https://host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving; returns once uvicorn accepts connections (or raises)."""
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"sandbox HTTPS server on {self.base_url} did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
