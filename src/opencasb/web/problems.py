"""RFC 9457 problem details (``application/problem+json``) for every error the API returns.

Raise :class:`ApiProblem` in a route for an error of the API itself (401, 403, 429 ...);
an :class:`~opencasb.errors.OpenCASBError` from below is mapped by class to a status
(:func:`status_for`) and keeps its message, meaning and fix. Request validation errors (422),
unknown routes (404), wrong methods (405) and unexpected exceptions (500, logged, with no
detail) are problems too, so a client always reads the same shape::

    {"type": "urn:opencasb:problem:user_not_found", "title": "Not Found", "status": 404,
     "detail": "no user 'bob'", "code": "user_not_found", "fix": "...", "instance": "/api/v1/..."}
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opencasb.errors import (
    ConfigError,
    ConnectorError,
    DocumentError,
    InstanceBusy,
    NotFound,
    OpenCASBError,
    StoreError,
)

__all__ = [
    "PROBLEM_JSON",
    "ApiProblem",
    "HtmlErrorPage",
    "code_for_status",
    "install_problem_handlers",
    "problem_response",
    "status_for",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ApiProblem(Exception):
    """An error answer of the API: HTTP ``status``, a ``detail`` for people, a ``code`` for
    programs, an optional ``fix``, extra members and headers (``Retry-After`` ...)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str = "",
        fix: str = "",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.fix = fix
        self.headers = headers or {}
        self.extra = extra


def status_for(err: OpenCASBError) -> int:
    """The HTTP status of an OpenCASB error: what the client can do about it."""
    if isinstance(err, DocumentError):
        return 422
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, InstanceBusy):
        return 409
    if isinstance(err, ConfigError):
        return 400
    if isinstance(err, ConnectorError):
        return 502
    if isinstance(err, StoreError):
        return 503
    return 500


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str = "",
    code: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"urn:opencasb:problem:{code}" if code else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v not in (None, "")})
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        exc.status,
        exc.detail,
        instance=request.url.path,
        code=exc.code,
        headers=exc.headers,
        fix=exc.fix,
        **exc.extra,
    )


HtmlErrorPage = Callable[[Request, int, str, dict[str, str]], Response]
"""``(request, status, detail, headers)`` to the portal's error page: set as
``app.state.html_error_page`` by the pages (:func:`opencasb.web.pages.mount`), so that an
unknown address or a wrong method outside ``/api/`` is answered with a page, not JSON."""


def code_for_status(status: int) -> str:
    """The problem ``code`` of a bare HTTP error: its reason phrase in snake case
    (``not_found``, ``method_not_allowed``, ``request_entity_too_large`` ...)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"http_{status}"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's and Starlette's own errors (no route: 404, wrong method: 405 ...): a problem
    with a ``code`` like every other error of the API; the portal's error page elsewhere."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    page: HtmlErrorPage | None = getattr(request.app.state, "html_error_page", None)
    if page is not None and not _is_api(request.url.path):
        return page(request, exc.status_code, detail, headers)
    return problem_response(
        exc.status_code,
        detail,
        instance=request.url.path,
        code=code_for_status(exc.status_code),
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # The offending input is left out: it may be a password or a token the client sent.
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return problem_response(
        422,
        f"{where}: {first['msg']}" if where else str(first["msg"]),
        instance=request.url.path,
        code="invalid_request",
        errors=errors,
    )


async def _opencasb_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OpenCASBError)
    status = status_for(exc)
    extra: dict[str, Any] = {"fix": exc.fix}
    if exc.meaning != exc.message:
        extra["meaning"] = exc.meaning
    if isinstance(exc, DocumentError):
        extra["problems"] = [
            {"path": p.path, "message": p.message, "line": p.line, "column": p.column}
            for p in exc.problems
        ]
    if status >= 500:
        log.error("request failed: %s", exc, extra={"path": request.url.path})
    return problem_response(
        status,
        exc.message,
        instance=request.url.path,
        code=exc.code or type(exc).__name__,
        **extra,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", extra={"path": request.url.path})
    return problem_response(
        500,
        "the server failed to answer this request",
        instance=request.url.path,
        code="internal_error",
        fix="Retry; if it keeps failing, the server's log says why.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with problem details."""
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OpenCASBError, _opencasb_error)
    app.add_exception_handler(Exception, _unexpected)
