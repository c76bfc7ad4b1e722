"""Okta users and groups, with admin roles and group membership, through the Users API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from opencasb.apps.base import Inventory
from opencasb.clock import utc
from opencasb.errors import PermissionDenied, UpstreamError
from opencasb.http import ApiClient, require_same_origin
from opencasb.model import Account, Group

__all__ = ["fetch_inventory", "paginate"]


def paginate(
    client: ApiClient, path: str, params: dict[str, str | int]
) -> Iterator[dict[str, Any]]:
    """Yield every object of a list endpoint, following ``next`` links on the org's host."""
    url: str | None = path
    query: dict[str, str | int] | None = params
    seen: set[str] = set()
    while url:
        resp = client.get(url, query)
        items = resp.json()
        if not isinstance(items, list):
            raise UpstreamError(f"{path} answered with something other than a list", app="okta")
        yield from (item for item in items if isinstance(item, dict))
        nxt = resp.links.get("next")
        if not nxt or nxt in seen or not items:
            return
        seen.add(nxt)  # a next link that repeats would loop forever
        url, query = require_same_origin(nxt, client.base_url, app="okta"), None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _account(user: dict[str, Any], roles: list[str]) -> Account:
    profile = user.get("profile") or {}
    name = " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p) or None
    email = profile.get("email") or profile.get("login")
    return Account(
        id=str(user.get("id")),
        email=str(email).lower() if email else None,
        name=name,
        status=str(user.get("status") or "UNKNOWN"),
        is_admin=bool(roles),
        admin_roles=tuple(sorted(roles)),
        last_login=_time(user.get("lastLogin")),
        created=_time(user.get("created")),
        raw=user,
    )


def _admin_roles(client: ApiClient, user_ids: list[str]) -> dict[str, list[str]]:
    """User id → admin role types, one ``GET /api/v1/users/{id}/roles`` per active user.

    Okta has no documented single call that lists every admin with its roles, so this costs
    one request per user; the client's pacer keeps it inside the org's budget. A token that
    may not read role assignments (403) yields an inventory without roles rather than none.
    """
    roles: dict[str, list[str]] = {}
    for uid in user_ids:
        try:
            items = client.get(f"/api/v1/users/{uid}/roles").json()
        except PermissionDenied:
            return {}
        if not isinstance(items, list):
            continue
        types = [str(r["type"]) for r in items if isinstance(r, dict) and r.get("type")]
        if types:
            roles[uid] = types
    return roles


def fetch_inventory(client: ApiClient) -> Inventory:
    """All users (including deprovisioned ones) and groups with their members."""
    users = list(paginate(client, "/api/v1/users", {"limit": 200}))
    users += paginate(
        client, "/api/v1/users", {"limit": 200, "filter": 'status eq "DEPROVISIONED"'}
    )
    active = [str(u.get("id")) for u in users if u.get("status") == "ACTIVE"]
    roles = _admin_roles(client, active)
    accounts = {}
    for user in users:
        acc = _account(user, roles.get(str(user.get("id")), []))
        accounts[acc.id] = acc
    groups = []
    for g in paginate(client, "/api/v1/groups", {"limit": 200}):
        gid = str(g.get("id"))
        members = tuple(
            str(u.get("id"))
            for u in paginate(client, f"/api/v1/groups/{gid}/users", {"limit": 200})
        )
        profile = g.get("profile") or {}
        groups.append(
            Group(
                id=gid,
                name=str(profile.get("name") or gid),
                type=g.get("type"),
                description=profile.get("description"),
                member_ids=members,
                raw=g,
            )
        )
    return Inventory(accounts=list(accounts.values()), groups=groups)
