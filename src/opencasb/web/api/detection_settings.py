"""Read-only settings of detection and delivery: ``/api/v1/notifiers`` (where alerts are
sent, with their queues; never a secret: the webhook's signing key and the SMTP password
are stored apart and not read here) and ``/api/v1/sigma`` (the Sigma rule folder: every
rule that evaluates and every rule or file that does not, with its reason). Notifiers are
added and changed on the Settings page or with ``opencasb notifiers``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from opencasb.notify.config import destination
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.deps import Reader
from opencasb.web.sigma_view import sigma_view

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["settings"])


@router.get("/notifiers")
def notifiers(principal: Reader, ctx: Ctx) -> Response:
    """Every notifier: kind, where it sends, its settings (no secret), state, last
    delivery, delivered, queued and dead-lettered events, last error."""
    notes = ctx.store.notifications
    counts = notes.queue_counts()
    items: list[dict[str, Any]] = []
    for n in notes.all():
        c = counts.get(n.id, {"pending": 0, "dead": 0})
        items.append(
            {
                "name": n.name,
                "kind": n.kind,
                "sends_to": destination(n.kind, n.config),
                "config": n.config,
                "enabled": n.enabled,
                "last_success_at": n.last_success_at,
                "delivered": n.delivered,
                "queued": c["pending"],
                "dead_letters": c["dead"],
                "last_error": n.last_error,
                "created_at": n.created_at,
            }
        )
    return ok({"items": items, "next": None})


@router.get("/sigma")
def sigma(principal: Reader, ctx: Ctx) -> Response:
    """The Sigma rule folder (null when none is set): the rules that evaluate (run as
    read-only policies) and every rule or file that does not, with its reason."""
    view = sigma_view(ctx.settings)
    load = view.load
    return ok(
        {
            "folder": view.folder,
            "files": load.files,
            "rules": [
                {
                    "policy_id": r.policy.id,
                    "rule_id": r.rule_id,
                    "title": r.title,
                    "file": r.file,
                    "severity": r.policy.severity,
                    "logsource": r.logsource,
                    "correlation": r.correlation or None,
                }
                for r in load.rules
            ],
            "problems": [
                {
                    "file": p.file,
                    "line": p.line,
                    "title": p.title or None,
                    "rule_id": p.rule_id or None,
                    "reason": p.reason,
                }
                for p in load.problems
            ],
        }
    )
