"""Read-only resources: the stored inventory (``/accounts``, ``/people``, ``/groups``),
the quarantine (``/rejected``) and the server's non-secret ``/settings``.

The inventory is what each connector last fetched (accounts and groups per instance);
``/people`` links the accounts of one person across apps by e-mail, as the portal's
Accounts page shows them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import make_url

from opencasb.model.inventory import Account, Group
from opencasb.store import InstanceRecord
from opencasb.store.rejected import RejectedRecord
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.deps import Reader
from opencasb.web.context import WebContext
from opencasb.web.paging import decode_position, encode_position, next_link

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


def _instances(ctx: WebContext, instance: str | None) -> list[InstanceRecord]:
    if instance:
        return [ctx.store.get_instance(instance)]
    return ctx.store.list_instances()


def _account(rec: InstanceRecord, a: Account, groups: list[str]) -> dict[str, Any]:
    return {
        "instance": rec.name,
        "app": rec.app,
        "id": a.id,
        "email": a.email,
        "name": a.name,
        "status": a.status,
        "is_admin": a.is_admin,
        "admin_roles": list(a.admin_roles),
        "last_login": a.last_login,
        "created": a.created,
        "groups": groups,
    }


def _all_accounts(ctx: WebContext, instance: str | None) -> list[dict[str, Any]]:
    out = []
    for rec in _instances(ctx, instance):
        member_of: dict[str, list[str]] = {}
        for g in ctx.store.list_groups(rec.id):
            for m in g.member_ids:
                member_of.setdefault(m, []).append(g.name)
        out += [
            _account(rec, a, sorted(member_of.get(a.id, [])))
            for a in ctx.store.list_accounts(rec.id)
        ]
    return out


def _matches(item: dict[str, Any], q: str | None) -> bool:
    if not q:
        return True
    needle = q.casefold()
    return any(needle in str(item.get(k) or "").casefold() for k in ("email", "name", "id"))


def _paged(
    request: Request, items: list[dict[str, Any]], limit: int, after: str | None
) -> Response:
    """Keyset paging over a list sorted by (instance, id): ``after`` names the last item."""
    start = 0
    if after:
        _, index = decode_position(after)
        start = index + 1
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    token = None
    if more and chunk:
        from opencasb.store.micros import EPOCH

        token = encode_position(EPOCH, start + len(chunk) - 1)
    return ok({"items": chunk, "total": len(items), "next": next_link(request, token)})


@router.get("/accounts", tags=["inventory"])
def accounts(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    instance: str | None = None,
    q: Annotated[str | None, Query(description="Part of the e-mail, name or id.")] = None,
    admins: Annotated[bool, Query(description="Only accounts with admin roles.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Response:
    """The stored accounts of every instance (or one): status, admin roles, groups, last
    sign-in."""
    items = [
        a for a in _all_accounts(ctx, instance) if _matches(a, q) and (a["is_admin"] or not admins)
    ]
    items.sort(key=lambda a: (a["instance"], a["id"]))
    return _paged(request, items, limit, after)


@router.get("/people", tags=["inventory"])
def people(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    q: Annotated[str | None, Query(description="Part of the e-mail, name or id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Response:
    """People across apps: the accounts of one e-mail address (any case) together."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for a in _all_accounts(ctx, None):
        key = (a["email"] or "").casefold() or f"{a['instance']}:{a['id']}"
        by_key.setdefault(key, []).append(a)
    items = []
    for key, accts in sorted(by_key.items()):
        person = {
            "key": key,
            "email": accts[0]["email"],
            "name": next((a["name"] for a in accts if a["name"]), None),
            "apps": sorted({a["app"] for a in accts}),
            "is_admin": any(a["is_admin"] for a in accts),
            "accounts": accts,
        }
        if any(_matches(a, q) for a in accts):
            items.append(person)
    return _paged(request, items, limit, after)


def _group(rec: InstanceRecord, g: Group) -> dict[str, Any]:
    return {
        "instance": rec.name,
        "app": rec.app,
        "id": g.id,
        "name": g.name,
        "type": g.type,
        "description": g.description,
        "member_ids": list(g.member_ids),
    }


@router.get("/groups", tags=["inventory"])
def groups(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    instance: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Response:
    """The stored groups of every instance (or one) with their members' account ids."""
    items = [
        _group(rec, g) for rec in _instances(ctx, instance) for g in ctx.store.list_groups(rec.id)
    ]
    items.sort(key=lambda g: (g["instance"], g["id"]))
    return _paged(request, items, limit, after)


def _rejected(r: RejectedRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "instance": r.instance,
        "feed": r.feed,
        "error": r.error,
        "received_at": r.received_at,
        "raw": r.raw,
    }


@router.get("/rejected", tags=["rejected"])
def rejected(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    instance: str | None = None,
    feed: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: str | None = None,
) -> Response:
    """Records that could not be normalized (quarantined, never dropped), newest first."""
    iid = ctx.store.get_instance(instance).id if instance else None
    before = decode_position(after) if after else None
    rows = ctx.store.list_rejected(instance_id=iid, feed=feed, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    token = encode_position(rows[-1].received_at, rows[-1].id) if more else None
    return ok({"items": [_rejected(r) for r in rows], "next": next_link(request, token)})


@router.get("/rejected/{record_id}", tags=["rejected"])
def rejected_record(record_id: int, principal: Reader, ctx: Ctx) -> Response:
    return ok(_rejected(ctx.store.get_rejected(record_id)))


@router.get("/settings", tags=["settings"])
def settings(principal: Reader, ctx: Ctx) -> Response:
    """The server's settings that are not secret (never the master key, never a database
    password)."""
    s = ctx.settings
    url = make_url(s.resolved_database_url()).render_as_string(hide_password=True)
    return ok(
        {
            "data_dir": str(s.data_dir),
            "database": url,
            "database_engine": ctx.store.dialect,
            "poll_interval": s.poll_interval,
            "file_monitoring": s.file_monitoring,
            "retention_days": s.retention_days,
            "log_level": s.log_level,
            "log_format": s.log_format,
            "geoip_city_mmdb": str(s.geoip_city_mmdb) if s.geoip_city_mmdb else None,
            "geoip_asn_mmdb": str(s.geoip_asn_mmdb) if s.geoip_asn_mmdb else None,
            "anomaly_detection": s.anomaly_detection,
            "anomaly_sensitivity": s.anomaly_sensitivity,
            "anomaly_learning_days": s.anomaly_learning_days,
            "master_key_configured": bool(s.secret_key) or (s.data_dir / "master.key").exists(),
        }
    )
