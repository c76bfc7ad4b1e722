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

from opencasb.store.inventory_pages import AccountEntry, GroupEntry, PersonEntry
from opencasb.store.rejected import RejectedRecord
from opencasb.store.url import redacted_url
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.deps import Reader
from opencasb.web.context import WebContext
from opencasb.web.paging import decode_key, decode_position, encode_key, encode_position, next_link

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


def _instance_id(ctx: WebContext, instance: str | None) -> int | None:
    return ctx.store.get_instance(instance).id if instance else None


def _account(e: AccountEntry) -> dict[str, Any]:
    a = e.account
    return {
        "instance": e.instance,
        "app": e.app,
        "id": a.id,
        "email": a.email,
        "name": a.name,
        "status": a.status,
        "is_admin": a.is_admin,
        "admin_roles": list(a.admin_roles),
        "last_login": a.last_login,
        "created": a.created,
        "groups": list(e.groups),
    }


def _position(token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    instance_id, key = decode_key(token, (int, str))
    return int(instance_id), str(key)


def _token(position: tuple[int, str] | None) -> str | None:
    return encode_key(position) if position else None


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
    """The stored accounts of every instance (or one), by instance then id: status, admin
    roles, groups, last sign-in. ``total`` counts every match; follow ``next`` for more."""
    found = ctx.store.inventory.page_accounts(
        instance_id=_instance_id(ctx, instance),
        q=q or None,
        admins=admins,
        limit=limit,
        after=_position(after),
    )
    return ok(
        {
            "items": [_account(e) for e in found.items],
            "total": found.total,
            "next": next_link(request, _token(found.next)),
        }
    )


def person_json(p: PersonEntry) -> dict[str, Any]:
    accts = [_account(e) for e in p.accounts]
    return {
        "key": p.key,
        "email": next((a["email"] for a in accts if a["email"]), None),
        "name": next((a["name"] for a in accts if a["name"]), None),
        "apps": sorted({a["app"] for a in accts}),
        "is_admin": any(a["is_admin"] for a in accts),
        "accounts": accts,
    }


@router.get("/people", tags=["inventory"])
def people(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    q: Annotated[str | None, Query(description="Part of the e-mail, name or id.")] = None,
    admins: Annotated[bool, Query(description="Only people with an admin account.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Response:
    """People across apps, by key: the accounts of one e-mail address (any case) together;
    an account without an address is a person of its own (key ``instance:id``)."""
    key = str(decode_key(after, (str,))[0]) if after else None
    found = ctx.store.inventory.page_people(q=q or None, admins=admins, limit=limit, after=key)
    token = encode_key([found.next]) if found.next is not None else None
    return ok(
        {
            "items": [person_json(p) for p in found.items],
            "total": found.total,
            "next": next_link(request, token),
        }
    )


def _group(e: GroupEntry) -> dict[str, Any]:
    g = e.group
    return {
        "instance": e.instance,
        "app": e.app,
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
    """The stored groups of every instance (or one), by instance then id, with their
    members' account ids; follow ``next`` for more."""
    found = ctx.store.inventory.page_groups(
        instance_id=_instance_id(ctx, instance), limit=limit, after=_position(after)
    )
    return ok(
        {
            "items": [_group(e) for e in found.items],
            "total": found.total,
            "next": next_link(request, _token(found.next)),
        }
    )


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
    url = redacted_url(s.resolved_database_url())
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
