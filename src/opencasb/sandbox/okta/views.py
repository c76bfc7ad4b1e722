"""The JSON Okta returns for users, groups and role assignments, with ``_links``.

Links are absolute on the host the request came to, and a user's links publish only the
lifecycle operations its current status permits (Okta's hypermedia rule).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROLE_LABELS", "group_json", "role_json", "user_json"]

# Lifecycle links offered per status: (link name, lifecycle path segment).
_OPS_BY_STATUS: dict[str, list[tuple[str, str]]] = {
    "ACTIVE": [
        ("suspend", "suspend"),
        ("resetPassword", "reset_password"),
        ("expirePassword", "expire_password"),
        ("resetFactors", "reset_factors"),
        ("deactivate", "deactivate"),
    ],
    "SUSPENDED": [("unsuspend", "unsuspend"), ("deactivate", "deactivate")],
    "STAGED": [
        ("activate", "activate"),
        ("resetFactors", "reset_factors"),
        ("deactivate", "deactivate"),
    ],
    "PROVISIONED": [
        ("reactivate", "reactivate"),
        ("resetFactors", "reset_factors"),
        ("deactivate", "deactivate"),
    ],
    "RECOVERY": [
        ("reactivate", "reactivate"),
        ("resetPassword", "reset_password"),
        ("deactivate", "deactivate"),
    ],
    "LOCKED_OUT": [
        ("unlock", "unlock"),
        ("resetPassword", "reset_password"),
        ("expirePassword", "expire_password"),
        ("deactivate", "deactivate"),
    ],
    "PASSWORD_EXPIRED": [
        ("suspend", "suspend"),
        ("resetPassword", "reset_password"),
        ("resetFactors", "reset_factors"),
        ("deactivate", "deactivate"),
    ],
    "DEPROVISIONED": [("activate", "activate")],
}

ROLE_LABELS = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organizational Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "Group Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
    "READ_ONLY_ADMIN": "Read Only Administrator",
    "REPORT_ADMIN": "Report Administrator",
    "API_ACCESS_MANAGEMENT_ADMIN": "API Access Management Administrator",
    "ACCESS_CERTIFICATIONS_ADMIN": "Access Certifications Administrator",
    "ACCESS_REQUESTS_ADMIN": "Access Requests Administrator",
    "WORKFLOWS_ADMIN": "Workflows Administrator",
}


def user_json(user: dict[str, Any], base: str) -> dict[str, Any]:
    """``user`` with its state-dependent ``_links`` on ``base`` (``scheme://host``)."""
    uid = user["id"]
    self_href = f"{base}/api/v1/users/{uid}"
    links: dict[str, Any] = {}
    for name, op in _OPS_BY_STATUS.get(user.get("status", ""), []):
        links[name] = {"href": f"{self_href}/lifecycle/{op}", "method": "POST"}
    type_id = (user.get("type") or {}).get("id")
    if type_id:
        links["type"] = {"href": f"{base}/api/v1/meta/types/user/{type_id}"}
    links["schema"] = {"href": f"{base}/api/v1/meta/schemas/user/default"}
    links["self"] = {"href": self_href}
    return {**user, "_links": links}


def group_json(group: dict[str, Any], base: str) -> dict[str, Any]:
    """``group`` with its ``_links``."""
    gid = group["id"]
    return {
        **group,
        "_links": {
            "users": {"href": f"{base}/api/v1/groups/{gid}/users"},
            "apps": {"href": f"{base}/api/v1/groups/{gid}/apps"},
        },
    }


def role_json(user: dict[str, Any], role_type: str, base: str) -> dict[str, Any]:
    """One admin role assignment of ``user`` (role ids are stable per user and type)."""
    rid = "ra1" + (user["id"][3:] + role_type.replace("_", "")).ljust(17, "x")[:17]
    return {
        "id": rid,
        "label": ROLE_LABELS.get(role_type, role_type.replace("_", " ").title()),
        "type": role_type,
        "status": "ACTIVE",
        "created": user.get("created"),
        "lastUpdated": user.get("lastUpdated"),
        "assignmentType": "USER",
        "_links": {"assignee": {"href": f"{base}/api/v1/users/{user['id']}"}},
    }
