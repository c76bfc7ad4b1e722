"""uvicorn serving an ASGI app from a background thread, on a socket the caller has bound.

The portal of the demo (:mod:`opencasb.web.server`) and the sandbox emulators
(:mod:`opencasb.sandbox.server`) both run this way:

    thread = ServerThread(app, sock, name="portal-8443", what="the portal on ...")
    thread.start()   # returns once uvicorn accepts connections, else RuntimeError
    thread.stop()    # asks uvicorn to exit, joins the thread, closes the socket

Binding first (the callers' part) makes a busy port fail at once and resolves port 0
before anything runs.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ServerThread", "bound_socket"]


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()  # also on failure, so start() never hangs


def bound_socket(host: str, port: int, *options: tuple[int, int, int]) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` (IPv6 for an IPv6 address; port 0: any free
    one), with ``setsockopt`` ``options`` applied first.

    Raises:
        OSError: the port is taken or the address is not this machine's (nothing leaks).
    """
    family = socket.AF_INET
    try:
        if ipaddress.ip_address(host).version == 6:
            family = socket.AF_INET6
    except ValueError:
        pass  # a host name such as "localhost": IPv4
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for level, name, value in options:
            sock.setsockopt(level, name, value)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class ServerThread:
    """One uvicorn server on ``sock`` in a daemon thread called ``name``.

    Args:
        app: what to serve.
        sock: a bound socket; the server owns it from now on and closes it on stop().
        name: the thread's name.
        what: names the server in the error when it does not start.
        **config: further ``uvicorn.Config`` arguments (TLS files, log level, headers). No
            lifespan and no access log unless given.
    """

    def __init__(
        self, app: ASGIApp, sock: socket.socket, *, name: str, what: str, **config: Any
    ) -> None:
        self._sock = sock
        self._what = what
        self._ready = threading.Event()
        config.setdefault("log_level", "warning")
        config.setdefault("lifespan", "off")
        config.setdefault("access_log", False)
        self._server = _Server(uvicorn.Config(app, **config), self._ready)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start(), not lost in the thread
            self._error = exc
        finally:
            self._ready.set()  # uvicorn may fail before its startup (a bad TLS file)

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; returns once uvicorn accepts connections.

        Raises:
            RuntimeError: it failed or did not start within ``timeout`` seconds (it is
                stopped; uvicorn's own error, if any, is the cause).
        """
        self._thread.start()
        if not self._ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"{self._what} did not start") from self._error

    @property
    def sock(self) -> socket.socket:
        """The listening socket (closed after stop())."""
        return self._sock

    def is_alive(self) -> bool:
        """Whether the thread still runs (False once stop() returned in time)."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish, wait for its thread, close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
