"""The portal served from a background thread (the demo runs it next to its emulators).

    server = PortalServer(app, port=8443).start()   # port 0: any free port
    ... server.url ...                              # http://127.0.0.1:8443/
    server.stop()

The socket is bound before uvicorn starts, so a busy port fails at once (``OSError``) and
port 0 is resolved when the object exists. Loopback only: the portal takes passwords, and a
server other machines can reach is ``opencasb serve --allow-remote`` with TLS.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from starlette.types import ASGIApp

__all__ = ["PortalServer"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()  # also on failure, so start() never hangs


class PortalServer:
    """One HTTP server thread on 127.0.0.1."""

    def __init__(self, app: ASGIApp, *, port: int = 0) -> None:
        self._ready = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._sock.bind(("127.0.0.1", port))
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, server_header=False
        )
        self._server = _Server(config, self._ready)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            daemon=True,
            name=f"portal-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 10.0) -> PortalServer:
        """Start serving; returns once uvicorn accepts connections (or raises)."""
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"the portal on {self.url} did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
