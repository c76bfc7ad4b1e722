"""The portal served for real in a thread: uvicorn on a free loopback port, lifespan on as
``opencasb serve`` runs it."""

from __future__ import annotations

from typing import Any

from opencasb.server_thread import ServerThread, bound_socket


class PortalServer:
    """``app`` served over HTTP on 127.0.0.1 (any free port) until :meth:`stop`."""

    def __init__(self, app: Any) -> None:
        sock = bound_socket("127.0.0.1", 0)
        self.port: int = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = ServerThread(
            app,
            sock,
            name=f"browser-portal-{self.port}",
            what=f"the portal on {self.url}",
            lifespan="on",
        )

    def start(self) -> PortalServer:
        self._thread.start(20)
        return self

    def stop(self) -> None:
        self._thread.stop()
