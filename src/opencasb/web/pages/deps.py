"""What every page needs from the request: the store, the signed-in viewer, a checked form.

Who is signed in, and the CSRF token of their session, come from the portal's session
cookie (:mod:`opencasb.web.auth.sessions`); the pages take no API token (a script uses the
API). The roles, as the pages apply them:

* ``read_only`` sees everything and changes nothing: no button or form that changes
  anything is rendered, and every form post is refused;
* ``analyst`` triages alerts and edits policies;
* ``admin`` also manages connected apps, users, API tokens and settings.

A state-changing form must carry the session's CSRF token (``csrf_token`` field); a post
without it, or with another session's, is refused before the page looks at anything else
(a post from another site is refused even earlier, by the app's same-origin guard).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request

from opencasb.errors import NotFound
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import CSRF_FIELD, get_ctx
from opencasb.web.auth.sessions import session_principal

if TYPE_CHECKING:
    from opencasb.store import Store

__all__ = [
    "ROLES",
    "PageDenied",
    "PageMissing",
    "SignInRequired",
    "Viewer",
    "audit",
    "form_of",
    "missing",
    "store_of",
    "viewer_of",
    "viewer_or_none",
]

ROLES = ("admin", "analyst", "read_only")


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user as the pages see them."""

    name: str
    role: str
    csrf: str

    @property
    def can_triage(self) -> bool:
        """Close and comment on alerts, write policies."""
        return self.role in ("admin", "analyst")

    @property
    def is_admin(self) -> bool:
        """Manage apps, users, tokens and settings."""
        return self.role == "admin"


class SignInRequired(Exception):
    """No one is signed in: the page sends the browser to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.location = "/signin?next=" + quote(next_path, safe="/")


class PageDenied(Exception):
    """The viewer may not do this (role, or a form without the session's CSRF token)."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


class PageMissing(Exception):
    """What the URL names does not exist (an instance, an alert, a policy)."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


def missing(exc: NotFound) -> PageMissing:
    """The store's NotFound as the pages' own 404 (the API keeps its own handling)."""
    return PageMissing(str(exc), exc.fix)


def store_of(request: Request) -> Store:
    return get_ctx(request).store


def viewer_or_none(request: Request) -> Viewer | None:
    """The viewer signed in with the request's session cookie, or None."""
    principal = session_principal(get_ctx(request), request)
    if principal is None:
        return None
    return Viewer(principal.name, principal.role.value, principal.csrf_token)


def audit(
    request: Request,
    viewer: Viewer,
    action: str,
    target: str | None = None,
    *,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add the viewer's action to the portal's audit trail (never a secret in ``detail``)."""
    info = {"via": "page", **(detail or {})}
    ctx = get_ctx(request)
    record(ctx, request, viewer.name, action, target=target, outcome=outcome, detail=info)


def viewer_of(request: Request, role: str = "read_only") -> Viewer:
    """The signed-in viewer, who must be allowed ``role``'s pages.

    Raises:
        SignInRequired: no one is signed in. PageDenied: the role is not enough.
    """
    viewer = viewer_or_none(request)
    if viewer is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else "/")
    if role == "analyst" and not viewer.can_triage:
        raise PageDenied(
            "your role is read-only: it cannot change anything",
            "ask an administrator for the analyst role",
        )
    if role == "admin" and not viewer.is_admin:
        raise PageDenied(
            "only an administrator can do this", "ask an administrator to do it or to make you one"
        )
    return viewer


async def form_of(request: Request, role: str) -> tuple[Viewer, dict[str, str]]:
    """The viewer and the fields of a posted form, after checking the role and the CSRF
    token (every field is text; a repeated field keeps its values joined by commas).

    Raises:
        SignInRequired, PageDenied: as :func:`viewer_of`; PageDenied also for a missing or
            wrong CSRF token (a cross-site post).
    """
    viewer = viewer_of(request, role)
    data = await request.form()
    fields: dict[str, str] = {}
    for key in data:
        # browsers send a textarea's lines as CRLF (HTML's form encoding); keep LF
        values = [v.replace("\r\n", "\n") for v in data.getlist(key) if isinstance(v, str)]
        fields[key] = ",".join(values)
    token = fields.pop(CSRF_FIELD, "")
    if not token or not hmac.compare_digest(token.encode(), viewer.csrf.encode()):
        raise PageDenied(
            "this form was not sent from the portal's own page (missing or stale CSRF token)",
            "reload the page and submit the form again",
        )
    return viewer, fields
