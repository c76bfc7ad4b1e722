"""Signing in and out: credentials checked with throttling, server-side sessions, cookies.

A session is a random cookie value (HttpOnly, SameSite=Lax, ``Secure`` and named
``__Host-opencasb_session`` over TLS) whose SHA-256 the store keeps with the user, the
source address and an expiry: :data:`IDLE` after the last request, and never more than
:data:`ABSOLUTE` after signing in. Changing a user's password or role ends their sessions.

For the pages (a form post), the sequence is::

    user = authenticate(ctx, request, form.username, form.password)  # 401/429 ApiProblem
    response = RedirectResponse("/", status_code=303)
    principal = start_session(ctx, request, response, user)          # sets the cookie
    ...
    end_session(ctx, request, response)                              # sign out

Both are audited (``signin``, ``signin.failed``, ``signout``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response

from opencasb.errors import NotFound
from opencasb.store.portal import UserRecord
from opencasb.web.auth.audit import client_ip, record
from opencasb.web.auth.credentials import csrf_for, digest, new_session_token
from opencasb.web.auth.passwords import verify
from opencasb.web.auth.roles import Principal, Role
from opencasb.web.auth.throttle import check_throttle
from opencasb.web.context import WebContext
from opencasb.web.problems import ApiProblem

__all__ = [
    "ABSOLUTE",
    "IDLE",
    "SECURE_SESSION_COOKIE",
    "SESSION_COOKIE",
    "authenticate",
    "end_session",
    "session_principal",
    "session_token",
    "start_session",
]

SESSION_COOKIE = "opencasb_session"
SECURE_SESSION_COOKIE = "__Host-opencasb_session"  # only ever set Secure, for the host
IDLE = timedelta(hours=8)
ABSOLUTE = timedelta(hours=24)
_TOUCH_EVERY = timedelta(minutes=1)  # a write per minute per session, not per request


def authenticate(ctx: WebContext, request: Request, username: str, password: str) -> UserRecord:
    """The user whose credentials these are.

    Raises:
        ApiProblem: 429 when the account or address is throttled (see
            :mod:`~opencasb.web.auth.throttle`), 401 when the name or password is wrong
            (the same answer for both, so names cannot be probed).
    """
    name = username.strip().lower()[:64]
    ip = client_ip(request)
    try:
        check_throttle(ctx, name, ip)
    except ApiProblem:
        # Audited, so that an admin sees an attack go on after the lock; not counted as a
        # failure (count_failed_signins reads signin.failed), so it does not extend the lock.
        record(ctx, request, "-", "signin.throttled", target=name, outcome="refused")
        raise
    try:
        user: UserRecord | None = ctx.store.portal.get_user(name)
    except NotFound:
        user = None
    if not verify(ctx.password_hasher, user.password_hash if user else None, password) or (
        user is None
    ):
        record(ctx, request, "-", "signin.failed", target=name, outcome="failure")
        raise ApiProblem(
            401,
            "the username or password is wrong",
            code="bad_credentials",
            fix="check both; after 5 failures the account is locked for 15 minutes",
        )
    if ctx.password_hasher.check_needs_rehash(user.password_hash):
        user = ctx.store.portal.update_user(
            user.username, password_hash=ctx.password_hasher.hash(password)
        )
    return user


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def session_token(request: Request) -> str | None:
    """The session cookie's value, if the request carries one."""
    return request.cookies.get(SECURE_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def start_session(
    ctx: WebContext, request: Request, response: Response, user: UserRecord
) -> Principal:
    """Start a session for ``user``: store it, set the cookie on ``response``, audit the
    sign-in. Returns the principal (its ``csrf_token`` goes into forms and the
    ``X-CSRF-Token`` header)."""
    old = session_token(request)
    if old:  # a new session never reuses a cookie value from before sign-in (fixation)
        ctx.store.portal.delete_session(digest(old))
    token = new_session_token()
    now = ctx.clock.now()
    ctx.store.portal.add_session(
        digest(token), user.id, now + IDLE, client_ip(request), request.headers.get("user-agent")
    )
    secure = _secure(request)
    response.set_cookie(
        SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        token,
        max_age=int(ABSOLUTE.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    record(ctx, request, user.username, "signin", target=user.username)
    return Principal(
        user.username,
        Role(user.role),
        "session",
        csrf_token=csrf_for(token),
        session_hash=digest(token),
        user_id=user.id,
    )


def end_session(ctx: WebContext, request: Request, response: Response) -> None:
    """Sign out: forget the session server-side and clear the cookie (no-op without one)."""
    token = session_token(request)
    if token:
        found = ctx.store.portal.get_session(digest(token))
        ctx.store.portal.delete_session(digest(token))
        if found is not None:
            record(ctx, request, found.user.username, "signout", target=found.user.username)
    for name in (SESSION_COOKIE, SECURE_SESSION_COOKIE):
        response.delete_cookie(
            name, path="/", httponly=True, samesite="lax", secure=name == SECURE_SESSION_COOKIE
        )


def session_principal(ctx: WebContext, request: Request) -> Principal | None:
    """The principal of the request's session cookie, or None (no cookie, unknown, expired)."""
    token = session_token(request)
    if not token:
        return None
    rec = ctx.store.portal.get_session(digest(token))
    now = ctx.clock.now()
    if rec is None or now >= rec.created_at + ABSOLUTE:
        return None
    if now - rec.last_seen_at >= _TOUCH_EVERY:
        ctx.store.portal.touch_session(rec.token_hash, min(now + IDLE, rec.created_at + ABSOLUTE))
    return Principal(
        rec.user.username,
        Role(rec.user.role),
        "session",
        csrf_token=csrf_for(token),
        session_hash=rec.token_hash,
        user_id=rec.user.id,
    )
