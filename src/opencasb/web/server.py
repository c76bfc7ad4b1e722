"""The portal served from a background thread (the demo runs it next to its emulators).

    server = PortalServer(app, port=8443).start()   # port 0: any free port
    ... server.url ...                              # http://127.0.0.1:8443/
    server.stop()

The socket is bound before uvicorn starts, so a busy port fails at once (``OSError``) and
port 0 is resolved when the object exists. Loopback only: the portal takes passwords, and a
server other machines can reach is ``opencasb serve --allow-remote`` with TLS.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from opencasb.server_thread import ServerThread, bound_socket

__all__ = ["PortalServer"]


class PortalServer:
    """One HTTP server thread on 127.0.0.1."""

    def __init__(self, app: ASGIApp, *, port: int = 0) -> None:
        sock = bound_socket("127.0.0.1", port)
        self.port: int = sock.getsockname()[1]
        self._thread = ServerThread(
            app,
            sock,
            name=f"portal-{self.port}",
            what=f"the portal on {self.url}",
            server_header=False,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 10.0) -> PortalServer:
        """Start serving; returns once uvicorn accepts connections (or raises RuntimeError)."""
        self._thread.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self._thread.stop(timeout)
