"""A synchronous httpx transport that runs an ASGI app in-process.

``httpx.ASGITransport`` is async-only. :class:`SyncASGITransport` owns an anyio blocking
portal (an event loop on a helper thread, started once per transport) and forwards each
request to it, so ordinary sync code can do::

    client = httpx.Client(transport=SyncASGITransport(app), base_url="https://org.okta.test")

Call ``close()`` (``httpx.Client.close`` does it) to stop the portal thread. Request bytes
and headers pass through untouched (a POST without Content-Length stays without one), and
repeated response headers such as two ``link`` lines are preserved.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import anyio.from_thread
import httpx
from starlette.types import ASGIApp

__all__ = ["SyncASGITransport"]


class SyncASGITransport(httpx.BaseTransport):
    """Serve ``httpx.Client`` requests from an ASGI app on a private event loop."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("SyncASGITransport is closed")
        body = request.read()
        # A new request with an explicit stream keeps the original headers exactly.
        forwarded = httpx.Request(
            request.method,
            request.url,
            headers=request.headers.raw,
            stream=httpx.ByteStream(body),
            extensions=request.extensions,
        )

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes, dict[str, Any]]:
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers.raw, content, dict(response.extensions)

        status, headers, content, extensions = self._portal.call(call)
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions=extensions,
            request=request,
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stack.close()
