"""Policies: the stored policies with their enabled state and alert counts (and the
findings over a daily alert limit today, theirs and the built-in anomaly detectors'), the
shipped templates, and the editor (one policy's YAML, with the filter in the filter language) with
a preview of what it would have matched.

URLs: ``/policies``, ``/policies/new`` (``?template=ID`` or ``?filter=YAML`` from the
activity log), ``/policies/{id}``; posts ``/policies/save``, ``/policies/preview`` and
``/policies/{id}/enable|disable|remove``. Changes need the analyst role and are audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencasb.detect.policy_file import refuse_placeholders
from opencasb.detect.stage import store_policy, stored_policies, suppressed_today
from opencasb.detect.templates import load_templates, template
from opencasb.errors import NotFound, OpenCASBError
from opencasb.store.detection import PolicyRecord
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages import policy_ops
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import audit, form_of, missing, store_of, viewer_of
from opencasb.web.pages.render import render
from opencasb.web.sigma_view import sigma_view

__all__ = ["router"]

router = APIRouter()


@router.get("/policies", response_class=HTMLResponse)
def policies_page(request: Request, notice: str = "") -> Response:
    viewer_of(request)
    store = store_of(request)
    records = store.detection.list_policies()
    loaded = {p.id: p for p in stored_policies(records)}
    counts = policy_ops.alert_counts(store)
    stored = {r.id for r in records}
    suppressed = suppressed_today(store, get_ctx(request).clock.now())
    rows = [
        {"rec": r, "p": loaded.get(r.id), "alerts": counts[r.id], "over": suppressed.get(r.id, 0)}
        for r in records
    ]
    return render(
        request,
        "policies.html",
        title="Policies",
        rows=rows,
        # the built-in anomaly detectors are not policies: theirs apart, by detector id
        anomaly_over=sorted((k, v) for k, v in suppressed.items() if k.startswith("anomaly.")),
        templates=[t for t in load_templates() if t.id not in stored],
        sigma=sigma_view(get_ctx(request).settings),
        counts=counts,
        notice=notice,
    )


def _find(request: Request, policy_id: str) -> PolicyRecord:
    for r in store_of(request).detection.list_policies():
        if r.id == policy_id:
            return r
    raise missing(NotFound(f"no policy {policy_id!r}", fix="the Policies page lists them"))


def _editor(
    request: Request,
    definition: str,
    *,
    existing: PolicyRecord | None = None,
    error: object = None,
    result: object = None,
    days: int = 7,
    code: int = 200,
) -> Response:
    alerts = policy_ops.alert_counts(store_of(request))[existing.id] if existing else 0
    return render(
        request,
        "policy.html",
        code,
        title=existing.name if existing else "New policy",
        existing=existing,
        definition=definition,
        error=error,
        result=result,
        days=days,
        alerts=alerts,
    )


@router.get("/policies/new", response_class=HTMLResponse)
def new_policy(request: Request, template_id: str = "", filter: str = "") -> Response:
    viewer_of(request, "analyst")
    try:
        definition = (
            policy_ops.as_yaml(template(template_id))
            if template_id
            else policy_ops.draft_from_filter(filter)
        )
    except OpenCASBError as exc:
        return _editor(request, filter, error=problem_of(exc), code=422)
    except ValueError as exc:  # the filter is not YAML
        return _editor(request, filter, error={"message": str(exc)}, code=422)
    return _editor(request, definition)


@router.get("/policies/{policy_id}", response_class=HTMLResponse)
def policy_page(request: Request, policy_id: str) -> Response:
    viewer_of(request)
    rec = _find(request, policy_id)
    return _editor(request, rec.definition, existing=rec)


def _existing(request: Request, policy_id: str) -> PolicyRecord | None:
    return next((r for r in store_of(request).detection.list_policies() if r.id == policy_id), None)


@router.post("/policies/preview", response_class=HTMLResponse)
async def preview_post(request: Request) -> Response:
    _, form = await form_of(request, "analyst")
    definition = form.get("definition", "")
    days = int(form.get("days", "7") or 7) if form.get("days", "7").isdigit() else 7
    days = min(max(days, 1), 90)
    existing = _existing(request, form.get("original", ""))
    try:
        policy = policy_ops.one_policy(definition)
        ctx = get_ctx(request)
        result = policy_ops.preview(ctx.store, ctx.get_enricher(), policy, ctx.clock, days)
    except OpenCASBError as exc:
        return _editor(request, definition, existing=existing, error=problem_of(exc), code=422)
    return _editor(request, definition, existing=existing, result=result, days=days)


@router.post("/policies/save", response_class=HTMLResponse)
async def save_post(request: Request) -> Response:
    viewer, form = await form_of(request, "analyst")
    definition = form.get("definition", "")
    original = form.get("original", "")
    existing = _existing(request, original)
    try:
        policy = policy_ops.one_policy(definition)
        if existing is None and _existing(request, policy.id) is not None:
            raise OpenCASBError(
                f"a policy with the id {policy.id!r} exists",
                fix="choose another id, or open that policy to change it",
            )
        if existing is not None and policy.id != existing.id:
            raise OpenCASBError(
                f"the id changed from {existing.id!r} to {policy.id!r}",
                fix="keep the id; to store a copy under another id, create a new policy",
            )
        store_policy(store_of(request), policy)
    except OpenCASBError as exc:
        return _editor(request, definition, existing=existing, error=problem_of(exc), code=422)
    action = "policy.edit" if existing else "policy.create"
    audit(request, viewer, action, policy.id, detail={"enabled": policy.enabled})
    return RedirectResponse(f"/policies/{quote(policy.id)}", status_code=303)


_FILL_IN = "replace each <placeholder> below (the fields named), set enabled: true and save"


@router.post("/policies/{policy_id}/{action}", response_class=HTMLResponse)
async def action_post(request: Request, policy_id: str, action: str) -> Response:
    viewer, _ = await form_of(request, "analyst")
    store = store_of(request)
    done: dict[str, Any] = {}
    if action == "enable" and _existing(request, policy_id) is None:
        try:
            store_policy(store, policy_ops.enabled(template(policy_id)))
        except NotFound as exc:
            raise missing(exc) from None
        except OpenCASBError as exc:  # a template with a <placeholder> to fill in first
            return _editor(
                request, policy_ops.as_yaml(template(policy_id)), error=problem_of(exc), code=422
            )
    else:
        rec = _find(request, policy_id)
        if action == "enable":
            try:  # a template copy stored disabled, its <placeholder> never filled in
                refuse_placeholders(policy_id, rec.definition, _FILL_IN)
            except OpenCASBError as exc:
                return _editor(
                    request, rec.definition, existing=rec, error=problem_of(exc), code=422
                )
            store.detection.set_policy_enabled(policy_id, True)
        elif action == "disable":
            store.detection.set_policy_enabled(policy_id, False, f"disabled by {viewer.name}")
        elif action == "remove":
            store.detection.delete_policy(policy_id)
        else:
            return RedirectResponse("/policies", status_code=303)
    audit(request, viewer, f"policy.{action}", policy_id, detail=done)
    return RedirectResponse("/policies", status_code=303)
