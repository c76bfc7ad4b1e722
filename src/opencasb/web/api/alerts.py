"""``/api/v1/alerts``: list by status, severity and policy (newest evidence first, keyset
paging), read one with its evidence activities and comments, close with a resolution,
comment. Closing and commenting need the analyst role and are audited."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from opencasb.errors import ConfigError
from opencasb.store.detection import RESOLUTIONS, AlertRecord
from opencasb.store.micros import from_micros, to_micros
from opencasb.web.api.activities import activity_json
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Analyst, Reader
from opencasb.web.paging import next_link

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_SCAN_MAX = 100_000
_EVIDENCE_SHOWN = 200


class CloseIn(BaseModel):
    resolution: Literal["true_positive", "benign", "false_positive"] = Field(
        description=", ".join(RESOLUTIONS)
    )
    comment: str | None = Field(default=None, max_length=10_000)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


def _encode(a: AlertRecord) -> str:
    raw = orjson.dumps([to_micros(a.last_time), a.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> tuple[datetime, str]:
    try:
        t, i = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(t, int) or not isinstance(i, str):
            raise ValueError("not a position")
        return from_micros(t), i
    except (ValueError, TypeError, binascii.Error, OverflowError, orjson.JSONDecodeError):
        raise ConfigError(
            "invalid page token in 'after'",
            fix="start again from the first page and follow each page's next link",
            code="bad_page_token",
        ) from None


def alert_json(a: AlertRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "policy_id": a.policy_id,
        "title": a.title,
        "severity": a.severity,
        "category": a.category,
        "tactic": a.tactic,
        "entity": a.entity,
        "explanation": a.explanation,
        "evidence_count": len(a.evidence),
        "first_time": a.first_time,
        "last_time": a.last_time,
        "historical": a.historical,
        "status": a.status,
        "resolution": a.resolution,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }


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
    """Alerts, newest last evidence first; follow ``next`` for more."""
    rows = ctx.store.detection.list_alerts(status=status, severity=severity, limit=_SCAN_MAX)
    if policy_id:
        rows = [a for a in rows if a.policy_id == policy_id]
    # (last_time desc, id asc), as the store orders them; the token is the last one seen.
    if after:
        last_time, last_id = _decode(after)
        rows = [
            a
            for a in rows
            if a.last_time < last_time or (a.last_time == last_time and a.id > last_id)
        ]
    chunk = rows[:limit]
    token = _encode(chunk[-1]) if len(rows) > limit else None
    return ok({"items": [alert_json(a) for a in chunk], "next": next_link(request, token)})


@router.get("/{alert_id}")
def get_alert(alert_id: str, principal: Reader, ctx: Ctx) -> Response:
    """One alert with its explanation, evidence activities (the first 200, oldest first),
    comments and timeline."""
    a = ctx.store.detection.get_alert(alert_id)
    found = ctx.store.detection.activities_by_id(a.evidence[:_EVIDENCE_SHOWN])
    evidence = [
        {"id": i, **activity_json(ctx, found[i])}
        for i in a.evidence[:_EVIDENCE_SHOWN]
        if i in found
    ]
    evidence.sort(key=lambda e: e["time"])
    timeline: list[dict[str, Any]] = [{"time": a.created_at, "event": "raised"}]
    timeline += [{"time": c.created_at, "event": "comment", "text": c.text} for c in a.comments]
    if a.status == "closed":
        timeline.append({"time": a.updated_at, "event": "closed", "resolution": a.resolution})
    timeline.sort(key=lambda e: e["time"])
    out = alert_json(a)
    out.update(
        evidence_ids=list(a.evidence),
        evidence=evidence,
        evidence_missing=len([i for i in a.evidence[:_EVIDENCE_SHOWN] if i not in found]),
        comments=[{"text": c.text, "created_at": c.created_at} for c in a.comments],
        timeline=timeline,
    )
    return ok(out)


@router.post("/{alert_id}/close")
def close_alert(
    alert_id: str, body: CloseIn, request: Request, principal: Analyst, ctx: Ctx
) -> Response:
    """Close the alert as true positive, benign or false positive (again: changes the
    resolution), with an optional comment."""
    full = ctx.store.detection.close_alert(alert_id, body.resolution, body.comment)
    record(ctx, request, principal, "alert.close", target=full,
           detail={"resolution": body.resolution})  # fmt: skip
    return ok(alert_json(ctx.store.detection.get_alert(full)))


@router.post("/{alert_id}/comments", status_code=201)
def comment(
    alert_id: str, body: CommentIn, request: Request, principal: Analyst, ctx: Ctx
) -> Response:
    """Add a comment."""
    full = ctx.store.detection.comment_alert(alert_id, f"{principal.name}: {body.text}")
    record(ctx, request, principal, "alert.comment", target=full)
    return ok(alert_json(ctx.store.detection.get_alert(full)), 201)
