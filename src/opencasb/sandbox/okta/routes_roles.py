"""Role assignment lists (Okta OpenAPI 5.1.0, tag ``RoleAssignmentAUser``).

``GET /api/v1/iam/assignees/users`` (operationId ``listUsersWithRoleAssignments``, scope
``okta.roles.read``) lists every user that holds an admin role, ``limit`` (default 100)
at a time. Unlike the Users API it pages in the body, not in ``link`` headers: the answer
is a ``RoleAssignedUsers`` object, ``{"value": [{"id", "orn", "_links": {"self", "roles"}}],
"_links": {"next": {"href"}}}``, and the ``next`` link's ``after`` is the last user id of
the page (as in the spec's example ``...?after=00u118oQYT4TBGuay0g4&limit=1``). The roles
themselves still come from ``GET /api/v1/users/{id}/roles``, once per admin.

Not documented, so chosen here: users are listed in the order they joined the org; a
``limit`` above the default 100 is served as 100 (a client that follows ``next`` cannot
tell); the last page's ``_links`` is ``{}``; the request counts against the catch-all
bucket (Okta's rate-limit tables name no ``/api/v1/iam`` bucket).
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.okta.http import Call, Reply, int_param, paginate, url

__all__ = ["ORG_ID", "list_role_assignees"]

ORG_ID = "00o1emulatedorg00000"  # the org id in ORNs (an org's id starts with 00o)
_PATH = "/api/v1/iam/assignees/users"
_MAX_LIMIT = 100


def _assignee(uid: str, base: str) -> dict[str, Any]:
    self_href = f"{base}/api/v1/users/{uid}"
    return {
        "id": uid,
        "orn": f"orn:okta:{ORG_ID}:users:{uid}",
        "_links": {"self": {"href": self_href}, "roles": {"href": f"{self_href}/roles"}},
    }


def list_role_assignees(call: Call) -> Reply:
    """``GET /api/v1/iam/assignees/users`` with ``limit`` and ``after``."""
    limit = min(int_param(call, "limit", _MAX_LIMIT, 1, 10_000), _MAX_LIMIT)
    state = call.state
    with state.lock:
        ids = [uid for uid in state.users if state.admin_roles.get(uid)]
    page, next_after = paginate([{"id": uid} for uid in ids], call.param("after"), limit)
    links: dict[str, Any] = {}
    if next_after is not None:
        keep = [(k, v) for k, v in call.params() if k not in ("after", "limit")]
        params = [*keep, ("after", next_after), ("limit", str(limit))]
        links["next"] = {"href": url(call.base, _PATH, params)}
    return Reply.json({"value": [_assignee(u["id"], call.base) for u in page], "_links": links})
