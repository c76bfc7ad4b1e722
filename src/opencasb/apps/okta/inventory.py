"""Okta users and groups, with admin roles and group membership, from list endpoints.

A first sync shares the org's rate buckets with the System Log backfill and with every
other integration, so the inventory asks for many objects per request: users 200 a page,
role holders in bulk (``/api/v1/iam/assignees/users``) and then only their roles, group
members 1,000 a page. Never one request per user.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from opencasb.apps.base import Inventory
from opencasb.clock import utc
from opencasb.errors import ConnectorError, PermissionDenied, UpstreamError
from opencasb.formats.records import NotAnArray
from opencasb.http import ApiClient, require_same_origin
from opencasb.model import Account, Group

__all__ = ["ASSIGNEES", "fetch_inventory", "paginate"]

ASSIGNEES = "/api/v1/iam/assignees/users"
MEMBERS_PAGE = 1000  # /groups/{id}/users: Okta's default page, so one request per group


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


def _member_ids(client: ApiClient, gid: str) -> tuple[str, ...]:
    """The ids of a group's members. Okta answers with whole user objects (1,000 a page);
    only their ids are decoded, not a dict per user (a tenth of the memory and time)."""
    path = f"/api/v1/groups/{gid}/users"
    url: str | None = path
    query: dict[str, str | int] | None = {"limit": MEMBERS_PAGE}
    ids: list[str] = []
    seen: set[str] = set()
    while url:
        resp = client.get(url, query)
        try:
            page = resp.records(head=("id",))
        except NotAnArray:
            raise UpstreamError(
                f"{path} answered with something other than a list", app="okta"
            ) from None
        ids.extend(str(i) for i in page.column("id") if i is not None)
        nxt = resp.links.get("next")
        if not nxt or nxt in seen or not len(page):
            break
        seen.add(nxt)  # a next link that repeats would loop forever
        url, query = require_same_origin(nxt, client.base_url, app="okta"), None
    return tuple(ids)


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


def _assignee_ids(client: ApiClient) -> list[str]:
    """Ids of every user holding an admin role: ``GET /api/v1/iam/assignees/users``.

    That list pages in its body (``_links.next.href``), not in ``link`` headers; a
    ``link`` header is followed too, should Okta send one.
    """
    ids: list[str] = []
    url: str | None = ASSIGNEES
    query: dict[str, str | int] | None = {"limit": 100}
    seen: set[str] = set()
    while url:
        resp = client.get(url, query)
        body = resp.json()
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, list):
            raise UpstreamError(
                f"{ASSIGNEES} answered with something other than a list", app="okta"
            )
        ids.extend(str(a["id"]) for a in value if isinstance(a, dict) and a.get("id"))
        nxt = ((body.get("_links") or {}).get("next") or {}).get("href") or resp.links.get("next")
        if not isinstance(nxt, str) or not nxt or nxt in seen or not value:
            break
        seen.add(nxt)  # a next link that repeats would loop forever
        url, query = require_same_origin(nxt, client.base_url, app="okta"), None
    return ids


def _admin_roles(client: ApiClient) -> dict[str, list[str]]:
    """User id → admin role types: the role holders in bulk, then each one's roles.

    Costs a request per hundred admins plus one per admin, instead of one per user (an
    org of 2,000 people has a dozen admins). A token that may not read role assignments
    (403) yields an inventory without roles rather than none. An admin deleted between the
    two calls (404) has no roles.
    """
    try:
        admins = _assignee_ids(client)
    except PermissionDenied:
        return {}
    roles: dict[str, list[str]] = {}
    for uid in admins:
        try:
            items = client.get(f"/api/v1/users/{uid}/roles").json()
        except PermissionDenied:
            return {}
        except ConnectorError as exc:
            if exc.status == 404:
                continue
            raise
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
    roles = _admin_roles(client)
    accounts = {}
    for user in users:
        acc = _account(user, roles.get(str(user.get("id")), []))
        accounts[acc.id] = acc
    groups = []
    for g in paginate(client, "/api/v1/groups", {"limit": 200}):
        gid = str(g.get("id"))
        members = _member_ids(client, gid)
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
