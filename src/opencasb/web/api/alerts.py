"""``/api/v1/alerts``: list by status, severity and policy (newest evidence first, keyset
paging), read one with its evidence activities and comments, close with a resolution,
comment. Closing and commenting need the analyst role and are audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from opencasb.store.alerts import RESOLUTIONS, alert_detail_json, alert_json
from opencasb.web.api.activities import activity_json, stored_of
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Analyst, Reader
from opencasb.web.auth.roles import Principal
from opencasb.web.context import WebContext
from opencasb.web.paging import decode_time_key, encode_time_key, next_link

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_EVIDENCE_SHOWN = 200


class CloseIn(BaseModel):
    resolution: Literal["true_positive", "benign", "false_positive"] = Field(
        description=", ".join(RESOLUTIONS)
    )
    comment: str | None = Field(default=None, max_length=10_000)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


def author_of(ctx: WebContext, principal: Principal) -> str:
    """Who a comment is by: the signed-in user, or for an API token the user who created it
    and the token's name (a script acts for the person who gave it its token)."""
    if principal.via == "token" and principal.token_id is not None:
        token = ctx.store.portal.get_token(principal.token_id)
        return f"{token.created_by} (token {token.name})"
    return principal.name


@router.get("")
def list_alerts(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    severity: Annotated[Literal["informational", "low", "medium", "high"] | None, Query()] = None,
    policy_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: str | None = None,
) -> Response:
    """Alerts, newest last evidence first (then by id); follow ``next`` for more."""
    found = ctx.store.detection.page_alerts(
        status=status,
        severity=severity,
        policy_id=policy_id or None,
        limit=limit,
        after=decode_time_key(after) if after else None,
    )
    token = encode_time_key(*found.next) if found.next else None
    return ok({"items": [alert_json(a) for a in found.items], "next": next_link(request, token)})


@router.get("/{alert_id}")
def get_alert(alert_id: str, principal: Reader, ctx: Ctx) -> Response:
    """One alert with its explanation, evidence activities (the first 200, oldest first),
    comments (each with its author: null for one written before authors were kept) and
    timeline."""
    a = ctx.store.detection.get_alert(alert_id)
    found = ctx.store.detection.activities_by_id(a.evidence[:_EVIDENCE_SHOWN])
    stored = stored_of(ctx, list(found.values()))
    evidence = [
        {"id": i, **activity_json(ctx, found[i], stored)}
        for i in a.evidence[:_EVIDENCE_SHOWN]
        if i in found
    ]
    evidence.sort(key=lambda e: e["time"])
    timeline: list[dict[str, Any]] = [{"time": a.created_at, "event": "raised"}]
    timeline += [
        {"time": c.created_at, "event": "comment", "text": c.text, "author": c.author}
        for c in a.comments
    ]
    if a.status == "closed":
        timeline.append({"time": a.updated_at, "event": "closed", "resolution": a.resolution})
    timeline.sort(key=lambda e: e["time"])
    out = alert_detail_json(a)
    out.update(
        evidence=evidence,
        evidence_missing=len([i for i in a.evidence[:_EVIDENCE_SHOWN] if i not in found]),
        timeline=timeline,
    )
    return ok(out)


@router.post("/{alert_id}/close")
def close_alert(
    alert_id: str, body: CloseIn, request: Request, principal: Analyst, ctx: Ctx
) -> Response:
    """Close the alert as true positive, benign or false positive (again: changes the
    resolution), with an optional comment."""
    full = ctx.store.detection.close_alert(
        alert_id, body.resolution, body.comment, author=author_of(ctx, principal)
    )
    record(ctx, request, principal, "alert.close", target=full,
           detail={"resolution": body.resolution})  # fmt: skip
    return ok(alert_json(ctx.store.detection.get_alert(full)))


@router.post("/{alert_id}/comments", status_code=201)
def comment(
    alert_id: str, body: CommentIn, request: Request, principal: Analyst, ctx: Ctx
) -> Response:
    """Add a comment; its author is the signed-in user (or the API token's user)."""
    full = ctx.store.detection.comment_alert(alert_id, body.text, author=author_of(ctx, principal))
    record(ctx, request, principal, "alert.comment", target=full)
    return ok(alert_json(ctx.store.detection.get_alert(full)), 201)
