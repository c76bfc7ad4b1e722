"""``/api/v1/alerts``: list by status, severity, policy and person (newest evidence first,
keyset paging), read one with its evidence activities (the first page; ``evidence_next``
pages on through ``/api/v1/alerts/{id}/evidence``) and comments, close with a resolution,
comment. Closing and commenting need the analyst role and are audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

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
from opencasb.web.paging import decode_time_key, encode_time_key, next_link, page_of_ids

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
    person: Annotated[
        str | None, Query(description="Only alerts about this person (a key of /api/v1/people).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: str | None = None,
) -> Response:
    """Alerts, newest last evidence first (then by id); follow ``next`` for more. An
    unknown ``person`` is a 404."""
    entities = ctx.store.inventory.get_person(person).alert_entities() if person else None
    found = ctx.store.detection.page_alerts(
        status=status,
        severity=severity,
        policy_id=policy_id or None,
        entities=entities,
        limit=limit,
        after=decode_time_key(after) if after else None,
    )
    token = encode_time_key(*found.next) if found.next else None
    return ok({"items": [alert_json(a) for a in found.items], "next": next_link(request, token)})


def _evidence(ctx: WebContext, ids: Sequence[int]) -> tuple[list[dict[str, Any]], int]:
    """The stored activities of ``ids``, oldest first, each with its ``id``; and how many
    of ``ids`` are no longer stored."""
    found = ctx.store.detection.activities_by_id(ids)
    stored = stored_of(ctx, list(found.values()))
    items = [{"id": i, **activity_json(ctx, found[i], stored)} for i in ids if i in found]
    items.sort(key=lambda e: e["time"])
    return items, len([i for i in ids if i not in found])


def _evidence_link(request: Request, alert_id: str, token: str | None) -> str | None:
    """The URL of the evidence page after ``token`` of the alert, or None."""
    if token is None:
        return None
    path = f"/api/v1/alerts/{quote(alert_id, safe='')}/evidence"
    return str(request.url.replace(path=path, query=urlencode({"after": token})))


@router.get("/{alert_id}")
def get_alert(alert_id: str, request: Request, principal: Reader, ctx: Ctx) -> Response:
    """One alert with its explanation, evidence activities (the first 200, each page sorted
    oldest first; ``evidence_next``, when not null, is the next page's URL), comments (each
    with its author: null for one written before authors were kept) and timeline."""
    a = ctx.store.detection.get_alert(alert_id)
    shown, token = page_of_ids(a.evidence, None, _EVIDENCE_SHOWN)
    evidence, missing = _evidence(ctx, shown)
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
        evidence_missing=missing,
        evidence_next=_evidence_link(request, a.id, token),
        timeline=timeline,
    )
    return ok(out)


@router.get("/{alert_id}/evidence")
def get_evidence(
    alert_id: str,
    request: Request,
    principal: Reader,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = _EVIDENCE_SHOWN,
    after: str | None = None,
) -> Response:
    """An alert's evidence activities, page by page in the alert's order (each page sorted
    oldest first); follow ``next`` for more. ``missing`` counts the page's activities no
    longer stored."""
    a = ctx.store.detection.get_alert(alert_id)
    ids, token = page_of_ids(a.evidence, after, limit)
    items, missing = _evidence(ctx, ids)
    return ok({"items": items, "missing": missing, "next": next_link(request, token)})


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
