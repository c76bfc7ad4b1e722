"""The portal's pages: server-rendered HTML over the store, with a small shipped stylesheet
and script (``web/static``) and Jinja2 templates (``web/templates``).

:func:`mount_pages` adds every page, the static files and the pages' error handling to an
app; the app factory calls it once. Each page is a route with a stable URL:

``/dashboard``, ``/apps`` (Connected apps), ``/activities`` (Activity log), ``/alerts``,
``/policies``, ``/accounts``, ``/settings``, and ``/signin``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from opencasb.web.pages.deps import PageDenied, PageMissing, SignInRequired, viewer_or_none
from opencasb.web.pages.render import SECURITY_HEADERS, STATIC_DIR, render

__all__ = ["mount_pages"]


def _signin_page(request: Request, next: str = "/dashboard", error: str = "") -> Response:
    if viewer_or_none(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    problem = {"message": error} if error else None
    return render(
        request,
        "signin.html",
        title="Sign in",
        next=_safe_next(next),
        error=problem,
        username="",
        csrf_token="",
    )


def _safe_next(path: str) -> str:
    # Only a path on this site: never send a signed-in user to another origin.
    return path if path.startswith("/") and not path.startswith("//") else "/dashboard"


def mount_pages(app: FastAPI) -> None:
    """Add the pages, ``/static`` and the handlers that turn the pages' errors into pages."""
    from opencasb.web.pages import activities, alerts, apps, dashboard

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/signin", _signin_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        "/", lambda: RedirectResponse("/dashboard", status_code=303), include_in_schema=False
    )
    for module in (dashboard, apps, activities, alerts):
        app.include_router(module.router, include_in_schema=False)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(exc.location, status_code=303, headers=SECURITY_HEADERS)

    @app.exception_handler(PageDenied)
    async def _denied(request: Request, exc: PageDenied) -> Response:
        error = {"message": str(exc), "fix": exc.fix}
        return render(request, "error.html", 403, title="Not allowed", error=error, back="")

    @app.exception_handler(PageMissing)
    async def _missing(request: Request, exc: PageMissing) -> Response:
        error = {"message": str(exc), "fix": exc.fix}
        return render(request, "error.html", 404, title="Not found", error=error, back="")
