"""The web application: the REST API under ``/api/v1``, its docs, and the portal's pages.

:func:`create_app` builds a FastAPI app around a :class:`~opencasb.web.context.WebContext`
(available to routes as ``request.app.state.ctx`` or ``Depends(auth.deps.get_ctx)``).

Every response carries the security headers of :class:`SecurityHeaders`: a
Content-Security-Policy that allows scripts from the server itself only (no inline script,
nothing remote), no framing, no MIME sniffing, no referrer to other sites; API answers are
not cached. Every error is an RFC 9457 problem (:mod:`opencasb.web.problems`).

The server-rendered pages live in :mod:`opencasb.web.pages` (templates and static files
next to it); :func:`_mount_pages` includes them when that package exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opencasb.web.auth.deps import SAFE_METHODS, check_same_origin
from opencasb.web.context import WebContext
from opencasb.web.docs import DOCS_URL, OPENAPI_URL, install_docs
from opencasb.web.problems import ApiProblem, install_problem_handlers, problem_response

__all__ = ["CSP", "SameOriginGuard", "SecurityHeaders", "create_app"]

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # style attributes (charts, Swagger UI); no script
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response (a pure ASGI
    middleware, so streamed exports pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith("/api/")
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in _HEADERS if k not in present]
                if is_api and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if tls:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOriginGuard:
    """ASGI middleware refusing (403 problem) every state-changing request another site made
    a browser send (:func:`~opencasb.web.auth.deps.check_same_origin`), before any route,
    form parsing or validation runs: a cross-site form post never reaches the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method", "GET") not in SAFE_METHODS:
            request = Request(scope)
            try:
                check_same_origin(request)
            except ApiProblem as exc:
                response = problem_response(
                    exc.status, exc.detail, instance=request.url.path, code=exc.code, fix=exc.fix
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(ctx: WebContext) -> FastAPI:
    """The portal and API over ``ctx``'s store."""
    app = FastAPI(
        title="OpenCASB API",
        version="1",
        description="Connected apps, activities, alerts, policies and inventory of an "
        "OpenCASB server. Authenticate with the session cookie (and X-CSRF-Token) or "
        "'Authorization: Bearer <API token>'. Errors are RFC 9457 problem details.",
        docs_url=None,  # served offline by opencasb.web.docs
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.ctx = ctx
    install_problem_handlers(app)
    install_docs(app)
    _include_api(app)
    _mount_pages(app)
    app.add_middleware(SameOriginGuard)
    app.add_middleware(SecurityHeaders)  # outermost: the guard's refusals get the headers too
    return app


def _include_api(app: FastAPI) -> None:
    from opencasb.web.api import routers
    from opencasb.web.auth.routes import router as auth_router

    app.include_router(auth_router)
    for router in routers():
        app.include_router(router)


# ---- PAGES: the server-rendered portal (opencasb.web.pages, owned by the pages work) ----
def _mount_pages(app: FastAPI) -> None:
    """Include the pages if :mod:`opencasb.web.pages` exists: it must expose ``mount(app)``
    (adding its routers and its ``StaticFiles``), or a ``router``."""
    if importlib.util.find_spec("opencasb.web.pages") is None:
        log.debug("no opencasb.web.pages: serving the API only (docs at %s)", DOCS_URL)
        return
    pages = importlib.import_module("opencasb.web.pages")
    mount = getattr(pages, "mount", None)
    if callable(mount):
        mount(app)
    else:
        app.include_router(pages.router)
