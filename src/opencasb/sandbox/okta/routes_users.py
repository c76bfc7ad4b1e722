"""Users and Groups endpoints (research §5): list, get, memberships, roles, lifecycle."""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.okta.errors import OktaApiError, not_found_user
from opencasb.sandbox.okta.http import Call, Reply, int_param, link_header, paginate, url
from opencasb.sandbox.okta.lifecycle import clear_sessions, run_lifecycle
from opencasb.sandbox.okta.scim_filter import (
    FilterSyntaxError,
    Node,
    comparisons,
    evaluate,
    parse_filter,
    uses_not,
)
from opencasb.sandbox.okta.views import group_json, role_json, user_json

__all__ = [
    "clear_user_sessions",
    "get_group",
    "get_user",
    "list_group_users",
    "list_groups",
    "list_user_groups",
    "list_user_roles",
    "list_users",
    "user_lifecycle",
]

# The Users API's `filter` is narrow: these attributes, `eq` only (ordering on lastUpdated).
_USER_FILTER_ATTRS = frozenset(
    {
        "status",
        "lastUpdated",
        "id",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    }
)


def _invalid_search() -> OktaApiError:
    return OktaApiError(400, "E0000031", "Invalid search criteria.")


def _parse(raw: str) -> Node:
    try:
        return parse_filter(raw)
    except FilterSyntaxError:
        raise _invalid_search() from None


def _user_filter(raw: str) -> Node:
    node = _parse(raw)
    if uses_not(node):
        raise _invalid_search()
    for path, op in comparisons(node):
        dotted = ".".join(path)
        ordering = dotted == "lastUpdated" and op in ("gt", "ge", "lt", "le")
        if dotted not in _USER_FILTER_ATTRS or not (op == "eq" or ordering):
            raise _invalid_search()
    return node


def _page_reply(
    call: Call, path: str, items: list[dict[str, Any]], limit: int, *, echo_limit: bool
) -> Reply:
    page, next_after = paginate(items, call.param("after"), limit)
    params = call.params()
    if echo_limit and "limit" not in call.request.query_params:
        params.append(("limit", str(limit)))  # Okta's self link shows the effective limit
    reply = Reply.json(page)
    reply.headers.append(link_header(url(call.base, path, params), "self"))
    if next_after is not None:
        keep = [(k, v) for k, v in params if k != "after"]
        reply.headers.append(
            link_header(url(call.base, path, [*keep, ("after", next_after)]), "next")
        )
    return reply


def list_users(call: Call) -> Reply:
    """``GET /api/v1/users`` with ``filter``, ``search``, ``q``, ``limit`` and ``after``."""
    state = call.state
    raw_filter, raw_search, q = call.param("filter"), call.param("search"), call.param("q")
    limit = min(int_param(call, "limit", 10 if q else 200, 1, 10_000), 200)
    with state.lock:
        users = list(state.users.values())
    if raw_filter or raw_search:
        node = _user_filter(raw_filter) if raw_filter else _parse(raw_search or "")
        users = [u for u in users if evaluate(node, u)]
        if raw_filter and raw_search:
            users = [u for u in users if evaluate(_parse(raw_search), u)]
    else:
        users = [u for u in users if u.get("status") != "DEPROVISIONED"]
    if q:
        prefix = q.lower()
        users = [
            u
            for u in users
            if any(
                str(u.get("profile", {}).get(k) or "").lower().startswith(prefix)
                for k in ("firstName", "lastName", "email")
            )
        ]
    views = [user_json(u, call.base) for u in users]
    return _page_reply(call, "/api/v1/users", views, limit, echo_limit=True)


def _user(call: Call, ref: str) -> dict[str, Any]:
    if ref == "me":
        principal = call.me()
        if principal.user_id is None:
            raise not_found_user("me")  # a service-app token has no user
        ref = principal.user_id
    user = call.state.find_user(ref)
    if user is None:
        raise not_found_user(ref)
    return user


def get_user(call: Call) -> Reply:
    """``GET /api/v1/users/{id|login|me}``."""
    return Reply.json(user_json(_user(call, call.request.path_params["user"]), call.base))


def list_user_groups(call: Call) -> Reply:
    """``GET /api/v1/users/{id}/groups`` (all groups, no paging)."""
    user = _user(call, call.request.path_params["user"])
    state = call.state
    groups = [state.groups[g] for g in state.user_groups.get(user["id"], []) if g in state.groups]
    return Reply.json([group_json(g, call.base) for g in groups])


def list_user_roles(call: Call) -> Reply:
    """``GET /api/v1/users/{id}/roles``: the user's admin role assignments."""
    user = _user(call, call.request.path_params["user"])
    roles = call.state.admin_roles.get(user["id"], [])
    return Reply.json([role_json(user, r, call.base) for r in roles])


def user_lifecycle(call: Call) -> Reply:
    """``POST /api/v1/users/{id}/lifecycle/{op}``."""
    send_email = (call.param("sendEmail") or "true").lower() != "false"
    body = run_lifecycle(
        call.state,
        call.me(),
        call.info(),
        call.request.path_params["user"],
        call.request.path_params["op"],
        send_email,
    )
    return Reply.json(body)


def clear_user_sessions(call: Call) -> Reply:
    """``DELETE /api/v1/users/{id}/sessions`` -> 204."""
    clear_sessions(call.state, call.me(), call.info(), call.request.path_params["user"])
    return Reply(204, None)


def list_groups(call: Call) -> Reply:
    """``GET /api/v1/groups`` with ``q`` (name prefix), ``filter``/``search``, paging."""
    limit = int_param(call, "limit", 10_000, 1, 10_000)
    with call.state.lock:
        groups = list(call.state.groups.values())
    q = call.param("q")
    if q:
        groups = [
            g
            for g in groups
            if str(g.get("profile", {}).get("name", "")).lower().startswith(q.lower())
        ]
    for name in ("filter", "search"):
        raw = call.param(name)
        if raw:
            node = _parse(raw)
            groups = [g for g in groups if evaluate(node, g)]
    views = [group_json(g, call.base) for g in groups]
    return _page_reply(call, "/api/v1/groups", views, limit, echo_limit=False)


def _group(call: Call) -> dict[str, Any]:
    gid = call.request.path_params["group"]
    group = call.state.groups.get(gid)
    if group is None:
        raise OktaApiError(404, "E0000007", f"Not found: Resource not found: {gid} (UserGroup)")
    return group


def get_group(call: Call) -> Reply:
    """``GET /api/v1/groups/{id}``."""
    return Reply.json(group_json(_group(call), call.base))


def list_group_users(call: Call) -> Reply:
    """``GET /api/v1/groups/{id}/users`` (paged, default and max 1000)."""
    group = _group(call)
    limit = min(int_param(call, "limit", 1000, 1, 10_000), 1000)
    state = call.state
    users = [state.users[u] for u in state.group_members.get(group["id"], []) if u in state.users]
    views = [user_json(u, call.base) for u in users]
    return _page_reply(call, f"/api/v1/groups/{group['id']}/users", views, limit, echo_limit=False)
