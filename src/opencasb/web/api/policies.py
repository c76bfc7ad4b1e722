"""``/api/v1/policies``: stored activity policies (list with alert counts, read, create,
replace, enable, disable, remove), the shipped templates, and a preview of what a draft
policy would have matched over the last N days.

A policy travels as its YAML definition (one policy, the format of ``opencasb policies
import``); every problem of a definition comes back as a 422 problem with its line and
column. Changes need the analyst role and are audited.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from opencasb.detect.engine import Observed, PolicyEngine
from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import dump_policies, read_policies, refuse_placeholders
from opencasb.detect.sigma.load import LoadedRule
from opencasb.detect.stage import store_policy, stored_policies, suppressed_today
from opencasb.detect.state import EngineState
from opencasb.detect.templates import load_templates, template
from opencasb.errors import ConfigError, NotFound
from opencasb.model.activity import Activity
from opencasb.store.detection import PolicyRecord
from opencasb.store.query import ActivityQuery
from opencasb.web.api.activities import activity_json, stored_of
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Analyst, Reader
from opencasb.web.context import WebContext
from opencasb.web.problems import ApiProblem
from opencasb.web.sigma_view import sigma_view

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/policies", tags=["policies"])

PREVIEW_MAX_SCANNED = 200_000
PREVIEW_MAX_MATCHES = 20_000


class PolicyIn(BaseModel):
    definition: str | None = Field(
        default=None, max_length=200_000, description="YAML of one policy."
    )
    template_id: str | None = Field(default=None, description="Copy a shipped template.")
    enabled: bool | None = Field(default=None, description="Override the definition's.")


class PreviewIn(BaseModel):
    definition: str = Field(max_length=200_000, description="YAML of one (draft) policy.")
    days: int = Field(default=7, ge=1, le=90)


def _one(definition: str, source: str) -> Policy:
    policies = read_policies(definition, source)
    if len(policies) != 1:
        raise ConfigError(
            f"the definition holds {len(policies)} policies, not one",
            fix="send one policy per request",
            code="one_policy",
        )
    return policies[0]


def _policy_json(rec: PolicyRecord, policy: Policy | None, alerts: int) -> dict[str, Any]:
    return {
        "id": rec.id,
        "source": "stored",
        "file": None,
        "read_only": False,
        "name": rec.name,
        "enabled": rec.enabled,
        "disabled_reason": rec.disabled_reason,
        "severity": policy.severity if policy else None,
        "category": policy.category if policy else None,
        "tactic": policy.tactic if policy else None,
        "description": policy.description if policy else "",
        "template": policy.template if policy else None,
        "alerts": alerts,
        "loads": policy is not None,
        "definition": rec.definition,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
    }


def _sigma_json(rule: LoadedRule, alerts: int) -> dict[str, Any]:
    """A rule of the Sigma folder as a read-only policy (change it by editing its file)."""
    p = rule.policy
    return {
        "id": p.id,
        "source": "sigma",
        "file": rule.file,
        "read_only": True,
        "name": rule.title,
        "enabled": True,
        "disabled_reason": None,
        "severity": p.severity,
        "category": p.category,
        "tactic": p.tactic,
        "description": p.description,
        "template": None,
        "alerts": alerts,
        "loads": True,
        "definition": None,
        "sigma_id": rule.rule_id,
        "logsource": rule.correlation or rule.logsource,
        "created_at": None,
        "updated_at": None,
    }


def _alert_counts(ctx: WebContext) -> Counter[str]:
    return Counter(ctx.store.detection.count_alerts_by("policy_id"))


def _find(ctx: WebContext, policy_id: str) -> PolicyRecord:
    for r in ctx.store.detection.list_policies():
        if r.id == policy_id:
            return r
    raise NotFound(f"no policy {policy_id!r}", code="policy_not_found")


def _json_of(ctx: WebContext, policy_id: str) -> dict[str, Any]:
    rule = next((r for r in sigma_view(ctx.settings).load.rules if r.policy.id == policy_id), None)
    if rule is not None and policy_id not in {r.id for r in ctx.store.detection.list_policies()}:
        return _sigma_json(rule, _alert_counts(ctx)[policy_id])
    rec = _find(ctx, policy_id)
    loaded = {p.id: p for p in stored_policies([rec])}
    return _policy_json(rec, loaded.get(rec.id), _alert_counts(ctx)[rec.id])


@router.get("")
def list_policies(principal: Reader, ctx: Ctx) -> Response:
    """Every stored policy (enabled or why disabled, severity, its number of alerts), then
    every rule of the Sigma folder that evaluates (``source`` sigma, ``read_only``, with its
    ``file``: change it by editing the file); ``anomaly_suppressed_today``: per built-in
    anomaly detector over its daily alert limit today, the new findings counted, not raised."""
    records = ctx.store.detection.list_policies()
    loaded = {p.id: p for p in stored_policies(records)}
    counts = _alert_counts(ctx)
    items = [_policy_json(r, loaded.get(r.id), counts[r.id]) for r in records]
    items += [_sigma_json(r, counts[r.policy.id]) for r in sigma_view(ctx.settings).load.rules]
    # findings over the daily alert limit today: counted, not raised (no alert shows them)
    suppressed = suppressed_today(ctx.store, ctx.clock.now())
    for item in items:
        item["suppressed_today"] = suppressed.get(item["id"], 0)
    # the built-in anomaly detectors are not policies: theirs apart, by detector id
    anomaly = {k: v for k, v in sorted(suppressed.items()) if k.startswith("anomaly.")}
    return ok({"items": items, "anomaly_suppressed_today": anomaly})


@router.get("/templates")
def templates(principal: Reader) -> Response:
    """The shipped templates a policy can be made from."""
    items = [
        {
            "id": p.id,
            "name": p.name,
            "severity": p.severity,
            "category": p.category,
            "tactic": p.tactic,
            "description": p.description,
            "definition": dump_policies([p]),
        }
        for p in load_templates()
    ]
    return ok({"items": items})


@router.get("/{policy_id}")
def get_policy(policy_id: str, principal: Reader, ctx: Ctx) -> Response:
    return ok(_json_of(ctx, policy_id))


def _save(ctx: WebContext, policy: Policy, enabled: bool | None) -> Policy:
    if enabled is not None:
        policy = dataclasses.replace(policy, enabled=enabled)
    store_policy(ctx.store, policy)
    return policy


@router.post("", status_code=201)
def create_policy(body: PolicyIn, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Store a new policy from a YAML definition or a template (409 when the id exists)."""
    if (body.definition is None) == (body.template_id is None):
        raise ConfigError("give either definition or template_id", code="policy_source")
    policy = (
        _one(body.definition, "definition")
        if body.definition is not None
        else template(body.template_id or "")
    )
    if any(r.id == policy.id for r in ctx.store.detection.list_policies()):
        raise ApiProblem(
            409,
            f"a policy with the id {policy.id!r} exists",
            code="policy_exists",
            fix=f"change it with PUT /api/v1/policies/{policy.id}, or choose another id",
        )
    policy = _save(ctx, policy, body.enabled)
    record(ctx, request, principal, "policy.create", target=policy.id,
           detail={"enabled": policy.enabled, "template": body.template_id})  # fmt: skip
    return ok(_json_of(ctx, policy.id), 201)


@router.put("/{policy_id}")
def replace_policy(
    policy_id: str, body: PolicyIn, request: Request, principal: Analyst, ctx: Ctx
) -> Response:
    """Replace a stored policy's definition (its id must stay)."""
    _find(ctx, policy_id)
    if body.definition is None:
        raise ConfigError("give the policy's definition", code="policy_source")
    policy = _one(body.definition, "definition")
    if policy.id != policy_id:
        raise ConfigError(
            f"the definition's id {policy.id!r} is not {policy_id!r}",
            fix="keep the id; to store a policy under another id, create it",
            code="policy_id_changed",
        )
    policy = _save(ctx, policy, body.enabled)
    record(ctx, request, principal, "policy.edit", target=policy_id,
           detail={"enabled": policy.enabled})  # fmt: skip
    return ok(_json_of(ctx, policy_id))


@router.post("/{policy_id}/enable")
def enable(policy_id: str, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Enable a stored policy, or store an enabled copy of the template of that id. A stored
    policy with a ``<placeholder>`` left (a template copy stored disabled) is refused: 400
    ``policy_needs_values``, naming the fields."""
    stored = next((r for r in ctx.store.detection.list_policies() if r.id == policy_id), None)
    if stored is not None:
        fix = (
            f"replace each <placeholder> in the definition (the fields above) with PUT "
            f"/api/v1/policies/{policy_id}, with enabled true"
        )
        refuse_placeholders(policy_id, stored.definition, fix)
        ctx.store.detection.set_policy_enabled(policy_id, True)
    else:
        _save(ctx, template(policy_id), True)
    record(ctx, request, principal, "policy.enable", target=policy_id)
    return ok(_json_of(ctx, policy_id))


@router.post("/{policy_id}/disable")
def disable(policy_id: str, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Disable a stored policy (its alerts stay)."""
    ctx.store.detection.set_policy_enabled(policy_id, False, f"disabled by {principal.name}")
    record(ctx, request, principal, "policy.disable", target=policy_id)
    return ok(_json_of(ctx, policy_id))


@router.delete("/{policy_id}", status_code=204)
def remove(policy_id: str, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Remove a stored policy (its alerts stay)."""
    _find(ctx, policy_id)
    ctx.store.detection.delete_policy(policy_id)
    record(ctx, request, principal, "policy.remove", target=policy_id)
    return Response(status_code=204)


@router.post("/preview")
def preview(body: PreviewIn, principal: Reader, ctx: Ctx) -> Response:
    """What a draft policy would have matched over the last ``days`` days of stored
    activity: the matching activities and the alerts it would have raised. Nothing is
    stored (a read: any role may). At most 200,000 activities are read (``truncated``)."""
    policy = dataclasses.replace(_one(body.definition, "definition"), enabled=True)
    enricher = ctx.get_enricher()
    now = ctx.clock.now()
    since = now - timedelta(days=body.days)
    matched: list[Activity] = []
    scanned = 0
    truncated = False
    for a in ctx.store.iter_activities(ActivityQuery(since=since, until=now)):
        scanned += 1
        if policy.matches(a, enricher.enrich(a)):
            matched.append(a)
        if scanned >= PREVIEW_MAX_SCANNED or len(matched) >= PREVIEW_MAX_MATCHES:
            truncated = True
            break
    matched.reverse()  # oldest first, as the engine reads them
    observed = [Observed(i, a, enricher.enrich(a)) for i, a in enumerate(matched)]
    engine = PolicyEngine([policy], clock=ctx.clock)
    findings, _ = engine.evaluate(observed, EngineState())
    alerts = [
        {
            "title": f.policy_name,
            "severity": f.severity,
            "entity": f.entity,
            "explanation": f.explanation,
            "count": f.count,
            "first_time": f.first,
            "last_time": f.last,
            "continues": f.continues,
            "evidence": [
                {"instance": matched[i].instance, "source_event_id": matched[i].source_event_id}
                for i in f.activity_ids[:50]
            ],
        }
        for f in findings
    ]
    shown = list(reversed(matched[-50:]))
    stored = stored_of(ctx, shown)
    newest = [activity_json(ctx, a, stored) for a in shown]
    return ok(
        {
            "policy_id": policy.id,
            "days": body.days,
            "since": since,
            "scanned": scanned,
            "truncated": truncated,
            "matched": len(matched),
            "alerts": alerts,
            "activities": newest,
        }
    )
