"""Microsoft Graph subset: list users and groups, disable/enable a user, revoke sessions
(research §3).

Lists honour ``$select`` (case-insensitive names; unknown ones are 400) and ``$top``
(1..999), and page with ``@odata.nextLink`` carrying every original parameter plus
``$skiptoken``. Users without ``$select`` show Graph's default property set, so
``accountEnabled`` and ``onPremisesSyncEnabled`` only come back when selected, as in Graph.
Each write appends the matching Azure AD audit record to the Management Activity content,
published after the usual delay.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import orjson

from opencasb.sandbox.office365.audit import directory_record, property_change
from opencasb.sandbox.office365.errors import GraphError
from opencasb.sandbox.office365.http import Call, Reply

__all__ = ["list_group_members", "list_groups", "list_users", "revoke_sessions", "update_user"]

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_PROPERTIES = (
    *USER_DEFAULT,
    "accountEnabled",
    "onPremisesSyncEnabled",
    "userType",
    "createdDateTime",
    "department",
    "usageLocation",
    "signInSessionsValidFromDateTime",
    "onPremisesImmutableId",
    "employeeId",
    "companyName",
    "country",
    "city",
)
GROUP_PROPERTIES = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "onPremisesSyncEnabled",
    "proxyAddresses",
    "securityEnabled",
    "securityIdentifier",
    "visibility",
)
_READ_USERS = {
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
}
_READ_GROUPS = {
    "GroupMember.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
}
_WRITE_USERS = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
_ENABLE_DISABLE = _WRITE_USERS | {"User.EnableDisableAccount.All"}
_REVOKE = _WRITE_USERS | {"User.RevokeSessions.All"}
_PATCHABLE = {
    "accountEnabled",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "officeLocation",
    "mobilePhone",
    "usageLocation",
    "companyName",
}
_SYNC_ERROR = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)


def _require(call: Call, allowed: set[str]) -> None:
    if not call.caller.roles & allowed:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def _select(call: Call, known: Iterable[str], kind: str) -> list[str] | None:
    raw = call.param("$select")
    if not raw:
        return None
    names = {k.lower(): k for k in known}
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if part.lower() not in names:
            raise GraphError(
                400,
                "BadRequest",
                f"Parsing OData Select and Expand failed: Could not find a property named "
                f"'{part}' on type 'microsoft.graph.{kind}'.",
            )
        out.append(names[part.lower()])
    return out


def _top(call: Call) -> int:
    raw = call.param("$top")
    if not raw:
        return call.limits.graph_default_top
    top = int(raw) if raw.isdigit() else 0
    if not 1 <= top <= call.limits.graph_max_top:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"Invalid page size specified: '{raw}'. Must be between 1 and "
            f"{call.limits.graph_max_top} inclusive.",
        )
    return top


def _skip(call: Call) -> int:
    raw = call.param("$skiptoken")
    if not raw:
        return 0
    # X'<hex>' like Graph's directory skip tokens; ours encodes the next offset.
    try:
        return int(bytes.fromhex(raw.removeprefix("X'").removesuffix("'")).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise GraphError(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your "
            "request.",
        ) from None


def _page(
    call: Call, kind: str, items: list[dict[str, Any]], props: list[str] | None, default: Any
) -> Reply:
    top, offset = _top(call), _skip(call)
    shown = props or list(default)
    page = [{p: item.get(p) for p in shown} for item in items[offset : offset + top]]
    context = f"{call.base}/v1.0/$metadata#{kind}"
    body: dict[str, Any] = {"@odata.context": context + (f"({','.join(props)})" if props else "")}
    if offset + top < len(items):
        params = [(k, v) for k, v in call.params() if k.lower() != "$skiptoken"]
        token = "X'" + str(offset + top).encode().hex().upper() + "'"
        params.append(("$skiptoken", token))
        body["@odata.nextLink"] = f"{call.base}/v1.0/{kind}?{urlencode(params, safe='$,')}"
    body["value"] = page
    return Reply.json(body)


def list_users(call: Call) -> Reply:
    """``GET /v1.0/users``."""
    _require(call, _READ_USERS)
    props = _select(call, USER_PROPERTIES, "user")
    with call.state.lock:
        users = list(call.state.users.values())
    return _page(call, "users", users, props, USER_DEFAULT)


def list_groups(call: Call) -> Reply:
    """``GET /v1.0/groups`` (every property by default, as Graph does for groups)."""
    _require(call, _READ_GROUPS)
    props = _select(call, GROUP_PROPERTIES, "group")
    with call.state.lock:
        groups = list(call.state.groups.values())
    return _page(call, "groups", groups, props, GROUP_PROPERTIES)


def list_group_members(call: Call) -> Reply:
    """``GET /v1.0/groups/{group}/members``: the members as user objects (``$select``,
    ``$top`` and ``@odata.nextLink`` as for lists); 404 for an unknown group."""
    _require(call, _READ_GROUPS)
    gid = call.path_param("group")
    props = _select(call, USER_PROPERTIES, "user")
    with call.state.lock:
        if gid not in call.state.groups:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{gid}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        members = [
            {"@odata.type": "#microsoft.graph.user", **call.state.users[uid]}
            for uid in call.state.members.get(gid, [])
            if uid in call.state.users
        ]
    return _page(call, f"groups/{gid}/members", members, props, USER_DEFAULT)


def _user(call: Call) -> dict[str, Any]:
    ident = call.path_param("user")
    user = call.state.find_user(ident)
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{ident}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    return user


def _client_ip(call: Call) -> str:
    client = call.request.client
    return client.host if client else ""


def update_user(call: Call) -> Reply:
    """``PATCH /v1.0/users/{id|upn}``: 204; ``accountEnabled`` changes log "Disable account."
    / "Enable account." besides "Update user."."""
    try:
        patch = orjson.loads(call.body or b"null")
    except orjson.JSONDecodeError:
        patch = None
    if not isinstance(patch, dict) or not patch:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        )
    _require(call, _ENABLE_DISABLE if set(patch) == {"accountEnabled"} else _WRITE_USERS)
    unknown = sorted(set(patch) - _PATCHABLE)
    if unknown:
        raise GraphError(400, "Request_BadRequest", f"Invalid property '{unknown[0]}'.")
    if "accountEnabled" in patch and not isinstance(patch["accountEnabled"], bool):
        raise GraphError(
            400,
            "BadRequest",
            f"Cannot convert the literal '{patch['accountEnabled']}' to the expected type "
            "'Edm.Boolean'.",
        )
    state = call.state
    with state.lock:
        user = _user(call)
        if user.get("onPremisesSyncEnabled") is True and state.onprem_sync_writes == "reject":
            raise GraphError(400, "Request_BadRequest", _SYNC_ERROR)
        changes = [
            property_change(k[0].upper() + k[1:], user.get(k), v)
            for k, v in patch.items()
            if user.get(k) != v
        ]
        old_enabled = user.get("accountEnabled")
        user.update(patch)
    now = state.clock.now()
    if changes:
        record = directory_record(
            state, call.caller, "Update user.", user, changes, now, _client_ip(call)
        )
        state.append_record(record)
        if "accountEnabled" in patch and patch["accountEnabled"] != old_enabled:
            op = "Enable account." if patch["accountEnabled"] else "Disable account."
            change = [property_change("AccountEnabled", old_enabled, patch["accountEnabled"])]
            state.append_record(
                directory_record(state, call.caller, op, user, change, now, _client_ip(call))
            )
    return Reply(204, None)


def revoke_sessions(call: Call) -> Reply:
    """``POST /v1.0/users/{id|upn}/revokeSignInSessions``: 200 ``{"value": true}`` (the
    documented service behaviour, research §3.2)."""
    _require(call, _REVOKE)
    state = call.state
    now = state.clock.now()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    with state.lock:
        user = _user(call)
        old = user.get("signInSessionsValidFromDateTime")
        user["signInSessionsValidFromDateTime"] = stamp
    change = [property_change("StsRefreshTokensValidFrom", old, stamp)]
    state.append_record(
        directory_record(state, call.caller, "Update user.", user, change, now, _client_ip(call))
    )
    return Reply.json({"@odata.context": f"{call.base}/v1.0/$metadata#Edm.Boolean", "value": True})
