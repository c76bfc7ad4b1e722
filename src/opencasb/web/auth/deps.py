"""FastAPI dependencies: who is asking, may they, and is a state change really theirs.

Use ``Depends(require(Role.ANALYST))`` (or the aliases :data:`Reader`, :data:`Analyst`,
:data:`Admin`) in a route; it returns the :class:`~opencasb.web.auth.roles.Principal`.

* Credentials: an ``Authorization: Bearer <API token>`` header, else the session cookie. A
  bearer header that is wrong is refused (never silently replaced by the cookie).
* Every state-changing request (POST, PUT, PATCH, DELETE) is refused when it comes from
  another site: ``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an ``Origin``
  that is not the server's own. One authenticated by the session cookie must also carry the
  session's CSRF token, in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.
* 401 without valid credentials, 403 when the role is too low or the request is cross-site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from opencasb.web.auth.audit import client_ip
from opencasb.web.auth.credentials import csrf_matches, digest
from opencasb.web.auth.roles import Principal, Role
from opencasb.web.auth.sessions import session_principal, session_token
from opencasb.web.context import WebContext
from opencasb.web.problems import ApiProblem

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Admin",
    "Analyst",
    "Reader",
    "check_csrf",
    "check_same_origin",
    "current_principal",
    "get_ctx",
    "optional_principal",
    "require",
]

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def get_ctx(request: Request) -> WebContext:
    """The app's :class:`WebContext`."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, WebContext)
    return ctx


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def check_same_origin(request: Request) -> None:
    """Refuse (403) a request another site made the browser send.

    ``Sec-Fetch-Site`` (set by every current browser, not settable by a page) must be
    ``same-origin`` or ``none`` (typed by the user); ``same-site`` is refused too, as another
    port of the same host is another site's page. An ``Origin`` header must be the server's.
    """
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if (site is not None and site.lower() not in ("same-origin", "none")) or (
        origin is not None and origin.lower() != _own_origin(request)
    ):
        raise ApiProblem(
            403,
            "cross-site request refused",
            code="cross_site",
            fix="send the request from the portal's own pages, or use an API token",
        )


async def check_csrf(request: Request, principal: Principal) -> None:
    """Refuse (403) a cookie-authenticated state change without the session's CSRF token."""
    if principal.via != "session":
        return
    token = session_token(request) or ""
    given = request.headers.get(CSRF_HEADER)
    if not given:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not csrf_matches(token, given):
        raise ApiProblem(
            403,
            "the CSRF token is missing or wrong",
            code="csrf_failed",
            fix=f"send the session's CSRF token in the {CSRF_HEADER} header or the "
            f"{CSRF_FIELD} form field (GET /api/v1/session returns it); reload the page",
        )


def _bearer(ctx: WebContext, request: Request, value: str) -> Principal:
    scheme, _, token = value.partition(" ")
    rec = ctx.store.portal.find_token(digest(token.strip())) if scheme.lower() == "bearer" else None
    if rec is None:
        raise ApiProblem(
            401,
            "the API token is unknown or revoked",
            code="bad_token",
            fix="send 'Authorization: Bearer <token>' with a token an admin created",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    now = ctx.clock.now()
    ip = client_ip(request)
    if (
        rec.last_used_at is None
        or now - rec.last_used_at >= _TOKEN_TOUCH_EVERY
        or (rec.last_used_ip != ip)
    ):
        ctx.store.portal.touch_token(rec.id, ip)
    return Principal(f"token:{rec.name}", Role(rec.role), "token", token_id=rec.id)


def optional_principal(
    request: Request, ctx: Annotated[WebContext, Depends(get_ctx)]
) -> Principal | None:
    """The request's principal, or None when it carries no credentials (a wrong bearer
    token is still a 401)."""
    auth = request.headers.get("authorization")
    if auth:
        return _bearer(ctx, request, auth)
    return session_principal(ctx, request)


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The request's principal; 401 when there is none."""
    if principal is None:
        raise ApiProblem(
            401,
            "sign in first",
            code="not_signed_in",
            fix="sign in (POST /api/v1/session) or send 'Authorization: Bearer <API token>'",
            headers={"WWW-Authenticate": 'Bearer realm="opencasb"'},
        )
    return principal


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency returning the principal if its role includes ``role`` (else 403), after
    the cross-site and CSRF checks of a state-changing request."""

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        if request.method not in SAFE_METHODS:
            check_same_origin(request)
            await check_csrf(request, principal)
        if not principal.may(role):
            raise ApiProblem(
                403,
                f"this needs the {role.value} role; {principal.name} is {principal.role.value}",
                code="forbidden",
                fix="ask an admin for a role that allows it",
            )
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


Reader = Annotated[Principal, Depends(require(Role.READ_ONLY))]
Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
