"""Routes of access control: ``/api/v1/session`` (sign in, who am I, sign out), users and
API tokens (admin), and the audit trail (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from opencasb.store.portal import AuditRecord, TokenRecord, UserRecord
from opencasb.web.auth import accounts
from opencasb.web.auth.audit import record
from opencasb.web.auth.credentials import digest, new_api_token
from opencasb.web.auth.deps import (
    Admin,
    Reader,
    check_same_origin,
    current_principal,
    get_ctx,
)
from opencasb.web.auth.roles import Principal, Role
from opencasb.web.auth.sessions import authenticate, end_session, start_session
from opencasb.web.context import WebContext
from opencasb.web.paging import decode_position, encode_position, page

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[WebContext, Depends(get_ctx)]


class SignIn(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: Role
    via: str
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token (or the csrf_token form field) with every "
        "state-changing request made with the session cookie."
    )


class UserOut(BaseModel):
    username: str
    role: Role
    created_at: datetime
    updated_at: datetime


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role = Role.READ_ONLY


class UserPatch(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, max_length=1024)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.READ_ONLY


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    revoked_at: datetime | None


class NewToken(TokenOut):
    token: str = Field(description="The token itself: shown this once, stored only as a hash.")


def _user(u: UserRecord) -> UserOut:
    return UserOut(username=u.username, role=Role(u.role), created_at=u.created_at,
                   updated_at=u.updated_at)  # fmt: skip


def _token(t: TokenRecord) -> dict[str, Any]:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        role=Role(t.role),
        created_by=t.created_by,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        last_used_ip=t.last_used_ip,
        revoked_at=t.revoked_at,
    ).model_dump(mode="json")


def _session(p: Principal) -> SessionOut:
    return SessionOut(username=p.name, role=p.role, via=p.via, csrf_token=p.csrf_token)


# -- session ---------------------------------------------------------------------------


@router.post("/session", response_model=SessionOut, tags=["session"])
def sign_in(body: SignIn, request: Request, response: Response, ctx: Ctx) -> SessionOut:
    """Sign in with a username and password: sets the session cookie, returns the CSRF
    token. Refused cross-site; throttled per account and per address (429)."""
    check_same_origin(request)
    user = authenticate(ctx, request, body.username, body.password)
    return _session(start_session(ctx, request, response, user))


@router.get("/session", response_model=SessionOut, tags=["session"])
def who_am_i(principal: Annotated[Principal, Depends(current_principal)]) -> SessionOut:
    """The signed-in user (or token) and the session's CSRF token."""
    return _session(principal)


@router.delete("/session", status_code=204, tags=["session"])
def sign_out(request: Request, principal: Reader, ctx: Ctx) -> Response:
    """Sign out: the session ends server-side and the cookie is cleared."""
    response = Response(status_code=204)
    end_session(ctx, request, response)
    return response


# -- users -------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut], tags=["users"])
def list_users(principal: Admin, ctx: Ctx) -> list[UserOut]:
    return [_user(u) for u in ctx.store.portal.list_users()]


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def add_user(body: UserIn, request: Request, principal: Admin, ctx: Ctx) -> UserOut:
    """Create a user (password at least 12 characters)."""
    u = accounts.add_user(ctx.store, ctx.password_hasher, body.username, body.password, body.role)
    record(ctx, request, principal, "user.add", target=u.username, detail={"role": u.role})
    return _user(u)


@router.patch("/users/{username}", response_model=UserOut, tags=["users"])
def edit_user(
    username: str, body: UserPatch, request: Request, principal: Admin, ctx: Ctx
) -> UserOut:
    """Change a user's role or password; the user's sessions end."""
    u = ctx.store.portal.get_user(accounts.normalize_username(username))
    if body.password is not None:
        u = accounts.set_password(ctx.store, ctx.password_hasher, u.username, body.password)
        record(ctx, request, principal, "user.set_password", target=u.username)
    if body.role is not None:
        u = accounts.set_role(ctx.store, u.username, body.role)
        record(ctx, request, principal, "user.set_role", target=u.username,
               detail={"role": u.role})  # fmt: skip
    return _user(u)


@router.delete("/users/{username}", status_code=204, tags=["users"])
def remove_user(username: str, request: Request, principal: Admin, ctx: Ctx) -> Response:
    accounts.remove_user(ctx.store, username)
    record(ctx, request, principal, "user.remove", target=username.strip().lower())
    return Response(status_code=204)


# -- API tokens --------------------------------------------------------------------------


@router.get("/tokens", tags=["tokens"])
def list_tokens(principal: Admin, ctx: Ctx) -> list[dict[str, Any]]:
    """Every API token (without its value), revoked ones too."""
    return [_token(t) for t in ctx.store.portal.list_tokens()]


@router.post("/tokens", response_model=NewToken, status_code=201, tags=["tokens"])
def create_token(body: TokenIn, request: Request, principal: Admin, ctx: Ctx) -> dict[str, Any]:
    """Create an API token with a role; the response holds the token, shown this once."""
    value = new_api_token()
    t = ctx.store.portal.add_token(
        body.name.strip(), digest(value), value[:10], body.role.value, principal.name
    )
    record(ctx, request, principal, "token.create", target=f"{t.id}:{t.name}",
           detail={"role": t.role})  # fmt: skip
    return {**_token(t), "token": value}


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def revoke_token(token_id: int, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Revoke a token: it stops working at once."""
    t = ctx.store.portal.revoke_token(token_id)
    record(ctx, request, principal, "token.revoke", target=f"{t.id}:{t.name}")
    return Response(status_code=204)


# -- audit -------------------------------------------------------------------------------


def _audit(a: AuditRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "time": a.time.isoformat().replace("+00:00", "Z"),
        "actor": a.actor,
        "action": a.action,
        "target": a.target,
        "outcome": a.outcome,
        "source_ip": a.source_ip,
        "detail": a.detail,
    }


@router.get("/audit", tags=["audit"])
def audit_trail(
    request: Request,
    principal: Admin,
    ctx: Ctx,
    action: str | None = None,
    actor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> dict[str, Any]:
    """The portal's own actions, newest first: who, what, when, from where."""
    before = decode_position(after) if after else None
    rows = ctx.store.portal.list_audit(limit=limit + 1, before=before, action=action, actor=actor)
    more = len(rows) > limit
    rows = rows[:limit]
    token = encode_position(rows[-1].time, rows[-1].id) if more else None
    return page(request, [_audit(a) for a in rows], token)
