"""Azure AD users and groups through Microsoft Graph (api-office365.md §3.3).

``accountEnabled`` and ``onPremisesSyncEnabled`` only come back when named in ``$select``.
The last sign-in (``signInActivity``) needs an Entra ID P1 licence and AuditLog.Read.All;
Graph refuses the whole request without them, so it is asked for first and dropped if
refused ("where available"). Group members come from ``/groups/{id}/members`` where the
tenant answers it; a tenant that refuses it still gets its groups listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from opencasb.apps.base import Inventory
from opencasb.apps.office365.activity_api import parse_time
from opencasb.errors import ConnectorError, UpstreamError
from opencasb.http import ApiClient, require_same_origin
from opencasb.model import Account, Group

__all__ = ["USER_SELECT", "fetch_inventory", "graph_pages"]

USER_SELECT = (
    "id,userPrincipalName,displayName,mail,accountEnabled,onPremisesSyncEnabled,userType,"
    "createdDateTime,department"
)
GROUP_SELECT = (
    "id,displayName,description,groupTypes,mail,mailEnabled,securityEnabled,"
    "onPremisesSyncEnabled,visibility,createdDateTime"
)


def graph_pages(
    client: ApiClient, path: str, params: dict[str, str | int]
) -> Iterator[dict[str, Any]]:
    """Every object of a Graph collection, following ``@odata.nextLink`` on Graph's origin."""
    url: str = path
    query: dict[str, str | int] | None = params
    seen: set[str] = set()
    while True:
        data = client.get(url, query).json()
        if not isinstance(data, dict) or not isinstance(data.get("value"), list):
            raise UpstreamError(
                f"Graph answered {path} with something other than a collection",
                app="office365",
            )
        yield from (item for item in data["value"] if isinstance(item, dict))
        nxt = data.get("@odata.nextLink")
        if not isinstance(nxt, str) or not nxt or nxt in seen:
            return
        seen.add(nxt)  # a next link that repeats would loop forever
        url, query = require_same_origin(nxt, client.base_url, app="office365"), None


def _last_sign_in(user: dict[str, Any]) -> datetime | None:
    activity = user.get("signInActivity")
    if not isinstance(activity, dict):
        return None
    times = [
        t
        for key in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime")
        if (t := parse_time(str(activity.get(key) or ""))) is not None
    ]
    return max(times) if times else None


def _account(user: dict[str, Any]) -> Account:
    email = user.get("mail") or user.get("userPrincipalName")
    enabled = user.get("accountEnabled")
    status = "ENABLED" if enabled is True else "DISABLED" if enabled is False else "UNKNOWN"
    return Account(
        id=str(user.get("id")),
        email=str(email).lower() if email else None,
        name=user.get("displayName"),
        status=status,
        last_login=_last_sign_in(user),
        created=parse_time(str(user.get("createdDateTime") or "")),
        raw=user,
    )


def _users(client: ApiClient) -> list[dict[str, Any]]:
    try:
        return list(
            graph_pages(
                client, "/v1.0/users", {"$select": USER_SELECT + ",signInActivity", "$top": 500}
            )
        )
    except ConnectorError as exc:
        if exc.status not in (400, 403):
            raise
    return list(graph_pages(client, "/v1.0/users", {"$select": USER_SELECT, "$top": 999}))


def _members(client: ApiClient, group_id: str) -> tuple[str, ...] | None:
    try:
        return tuple(
            str(m.get("id"))
            for m in graph_pages(
                client, f"/v1.0/groups/{group_id}/members", {"$select": "id", "$top": 999}
            )
        )
    except ConnectorError as exc:
        if exc.status in (400, 403, 404):
            return None
        raise


def fetch_inventory(client: ApiClient) -> Inventory:
    """All users and groups (security, mail-enabled and Microsoft 365 "Unified" groups)."""
    accounts = [_account(u) for u in _users(client)]
    groups: list[Group] = []
    members_supported = True
    for g in graph_pages(client, "/v1.0/groups", {"$select": GROUP_SELECT, "$top": 999}):
        gid = str(g.get("id"))
        members: tuple[str, ...] | None = None
        if members_supported:
            members = _members(client, gid)
            members_supported = members is not None
        kinds = g.get("groupTypes") or []
        kind = (
            "Microsoft 365"
            if "Unified" in kinds
            else ("Security" if g.get("securityEnabled") else "Distribution")
        )
        groups.append(
            Group(
                id=gid,
                name=str(g.get("displayName") or gid),
                type=kind,
                description=g.get("description"),
                member_ids=members or (),
                raw=g,
            )
        )
    return Inventory(accounts=accounts, groups=groups)
