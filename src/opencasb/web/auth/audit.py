"""The audit trail of the portal's own actions: who did what, when, from where.

Call :func:`record` after an action (or a refused attempt) with the principal or name of
who did it. Actions are dotted names: ``signin``, ``signin.failed``, ``signout``,
``user.add``, ``user.set_role``, ``token.create``, ``token.revoke``, ``app.connect``,
``app.edit``, ``policy.save``, ``alert.close``, ``iptag.add``, ``iptag.remove``,
``iptag.import`` ... Secrets never go into ``detail``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from opencasb.web.auth.roles import Principal
from opencasb.web.context import WebContext

__all__ = ["client_ip", "record"]


def client_ip(request: Request) -> str | None:
    """The address the request came from (the TCP peer; the portal binds to loopback or
    serves its own TLS, so no proxy header is trusted)."""
    return request.client.host if request.client else None


def record(
    ctx: WebContext,
    request: Request,
    who: Principal | str,
    action: str,
    *,
    target: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit trail."""
    actor = who.name if isinstance(who, Principal) else who
    info = dict(detail or {})
    if isinstance(who, Principal):
        info.setdefault("via", who.via)
    ctx.store.portal.audit(
        actor,
        action,
        target=target,
        outcome=outcome,
        source_ip=client_ip(request),
        detail=info,
    )
