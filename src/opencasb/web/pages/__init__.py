"""The portal's pages: server-rendered HTML over the store, with a small shipped stylesheet
and script (``web/static``) and Jinja2 templates (``web/templates``).

:func:`mount` adds every page, the static files and the pages' error handling to the app
(:func:`opencasb.web.app.create_app` calls it). Each page is a route with a stable URL:
``/dashboard``, ``/apps`` (Connected apps), ``/activities`` (Activity log), ``/alerts``,
``/policies``, ``/accounts``, ``/settings`` (and ``/settings/ip-tags``); ``/signin`` and
``/signout`` start and end a session through :mod:`opencasb.web.auth.sessions`, as
``/api/v1/session`` does.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from opencasb.web.auth.deps import get_ctx
from opencasb.web.auth.sessions import authenticate, end_session, start_session
from opencasb.web.pages.deps import (
    PageDenied,
    PageMissing,
    SignInRequired,
    form_of,
    viewer_or_none,
)
from opencasb.web.pages.render import SECURITY_HEADERS, STATIC_DIR, render
from opencasb.web.problems import ApiProblem

__all__ = ["mount"]


def _safe_next(path: str) -> str:
    # Only a path on this site: never send a signed-in user to another origin.
    if path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/dashboard"


def _signin_form(
    request: Request, next_path: str, error: object = None, username: str = "", code: int = 200
) -> Response:
    return render(
        request,
        "signin.html",
        code,
        title="Sign in",
        next=_safe_next(next_path),
        error=error,
        username=username,
    )


def signin_page(request: Request, next: str = "/dashboard") -> Response:
    if viewer_or_none(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_form(request, next)


async def signin_post(request: Request) -> Response:
    """Check the name and password (throttled, audited) and start a session."""
    form = await request.form()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    next_path = str(form.get("next", "/dashboard"))
    ctx = get_ctx(request)
    try:
        user = authenticate(ctx, request, username, password)
    except ApiProblem as exc:
        error = {"message": exc.detail, "fix": exc.fix or ""}
        return _signin_form(request, next_path, error, username, exc.status)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    start_session(ctx, request, response, user)
    return response


async def signout_post(request: Request) -> Response:
    await form_of(request, "read_only")
    response = RedirectResponse("/signin", status_code=303)
    end_session(get_ctx(request), request, response)
    return response


def mount(app: FastAPI) -> None:
    """Add the pages, ``/static`` and the handlers that turn the pages' errors into pages."""
    from opencasb.web.pages import (
        accounts,
        activities,
        alerts,
        apps,
        dashboard,
        iptags,
        policies,
        settings,
        settings_notifiers,
    )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/signin", signin_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/signin", signin_post, methods=["POST"], include_in_schema=False)
    app.add_api_route("/signout", signout_post, methods=["POST"], include_in_schema=False)
    app.add_api_route(
        "/", lambda: RedirectResponse("/dashboard", status_code=303), include_in_schema=False
    )
    pages = (dashboard, apps, activities, alerts, policies, accounts, settings,
             settings_notifiers, iptags)  # fmt: skip
    for module in pages:
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

    app.state.html_error_page = _http_error_page


def _http_error_page(
    request: Request, status: int, detail: str, headers: dict[str, str]
) -> Response:
    """The portal's error page for an HTTP error outside the API (an address with no page,
    a method a page does not take): what happened and what to do, in the portal's frame."""
    if status == 404:
        title = "Not found"
        error = {"message": f"There is no page at {request.url.path}.",
                 "fix": "Check the address, or start again from the dashboard."}  # fmt: skip
    elif status == 405:
        title = "Not allowed here"
        error = {"message": f"This page does not take a {request.method} request.",
                 "fix": "Open the page with its link and use its buttons."}  # fmt: skip
    else:
        title = HTTPStatus(status).phrase
        error = {"message": detail, "fix": ""}
    response = render(request, "error.html", status, title=title, error=error, back="")
    response.headers.update(headers)  # Allow on a 405
    return response
