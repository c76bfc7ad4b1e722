"""Alerts: the list by status and severity, and one alert's page with its explanation,
entities, evidence (each linked to its record in the activity log), timeline and comments;
analysts close an alert as true positive, benign or false positive, and comment.

URLs: ``/alerts?status=open&severity=high&after=<token>`` (keyset-paged, newest first;
``status=all`` for every status), ``/alerts/{id}?evidence_after=<token>`` (its evidence
keyset-paged in the alert's order), and the posts ``/alerts/{id}/close`` and
``/alerts/{id}/comment``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencasb.detect.policy import Severity
from opencasb.errors import NotFound, OpenCASBError
from opencasb.store.alerts import RESOLUTIONS, AlertRecord
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import audit, form_of, missing, store_of, viewer_of
from opencasb.web.pages.render import render
from opencasb.web.paging import decode_time_key, encode_time_key, page_of_ids

__all__ = ["RESOLUTION_LABELS", "router"]

router = APIRouter()

RESOLUTION_LABELS = {
    "true_positive": "True positive",
    "benign": "Benign true positive",
    "false_positive": "False positive",
}
SEVERITIES = [s.value for s in reversed(Severity)]
EVIDENCE_SHOWN = 200
PAGE = 100


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, status: str = "open", severity: str = "", after: str = ""
) -> Response:
    viewer_of(request)
    store = store_of(request)
    status = status or "all"  # kept in the pager's links ("" would mean the default, open)
    found = store.detection.page_alerts(
        status=None if status == "all" else status,
        severity=severity or None,
        limit=PAGE,
        after=decode_time_key(after) if after else None,
    )
    return render(
        request,
        "alerts.html",
        title="Alerts",
        alerts=found.items,
        status=status,
        severity=severity,
        after=after,
        next_after=encode_time_key(*found.next) if found.next else None,
        severities=SEVERITIES,
        labels=RESOLUTION_LABELS,
    )


def _timeline(alert: AlertRecord) -> list[tuple[Any, str]]:
    events: list[tuple[Any, str]] = [
        (alert.first_time, "first evidence"),
        (alert.created_at, "alert raised"),
    ]
    if alert.last_time != alert.first_time:
        events.append((alert.last_time, "latest evidence"))
    events += [
        (c.created_at, f"comment by {c.author or 'unknown'}: {c.text}") for c in alert.comments
    ]
    if alert.status == "closed":
        label = RESOLUTION_LABELS.get(alert.resolution or "", alert.resolution or "")
        events.append((alert.updated_at, f"closed as {label}"))
    return sorted(events, key=lambda e: e[0])


def _alert_view(
    request: Request,
    alert_id: str,
    error: object = None,
    code: int = 200,
    evidence_after: str = "",
) -> Response:
    viewer_of(request)
    store = store_of(request)
    try:
        alert = store.detection.get_alert(alert_id)
    except NotFound as exc:
        raise missing(exc) from None
    shown, next_evidence = page_of_ids(alert.evidence, evidence_after or None, EVIDENCE_SHOWN)
    found = store.detection.activities_by_id(shown)
    evidence = []
    for i in shown:
        a = found.get(i)
        link = (
            "/activities?" + urlencode({"open": a.source_event_id, "open_instance": a.instance})
            if a
            else ""
        )
        evidence.append({"id": i, "a": a, "link": link})
    users = sorted({a.actor.email or a.actor.id or "" for a in found.values()} - {""})
    ips = sorted({a.src_ip for a in found.values() if a.src_ip})
    return render(
        request,
        "alert.html",
        status_code=code,
        title=alert.title,
        alert=alert,
        evidence=evidence,
        evidence_after=evidence_after,
        next_evidence=next_evidence,
        more=len(alert.evidence) - alert.evidence.index(shown[-1]) - 1 if shown else 0,
        users=users,
        ips=ips,
        timeline=_timeline(alert),
        labels=RESOLUTION_LABELS,
        resolutions=RESOLUTIONS,
        error=error,
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: str, evidence_after: str = "") -> Response:
    return _alert_view(request, alert_id, evidence_after=evidence_after)


@router.post("/alerts/{alert_id}/close", response_class=HTMLResponse)
async def close_post(request: Request, alert_id: str) -> Response:
    viewer, form = await form_of(request, "analyst")
    try:
        full = store_of(request).detection.close_alert(
            alert_id,
            form.get("resolution", ""),
            form.get("comment", "").strip() or None,
            author=viewer.name,
        )
    except NotFound as exc:
        raise missing(exc) from None
    except OpenCASBError as exc:
        return _alert_view(request, alert_id, problem_of(exc), 422)
    audit(request, viewer, "alert.close", full, detail={"resolution": form.get("resolution")})
    return RedirectResponse(f"/alerts/{quote(full)}", status_code=303)


@router.post("/alerts/{alert_id}/comment", response_class=HTMLResponse)
async def comment_post(request: Request, alert_id: str) -> Response:
    viewer, form = await form_of(request, "analyst")
    text = form.get("comment", "").strip()
    if not text:
        return RedirectResponse(f"/alerts/{quote(alert_id)}", status_code=303)
    try:
        full = store_of(request).detection.comment_alert(alert_id, text, author=viewer.name)
    except NotFound as exc:
        raise missing(exc) from None
    audit(request, viewer, "alert.comment", full)
    return RedirectResponse(f"/alerts/{quote(full)}", status_code=303)
