"""Audit records for the emulator's own governance actions (Graph writes), in the shape of the
Azure AD directory records in the samples (RecordType 8, ``"Update user."`` and friends).

The actor is the calling app's service principal; the target is the user, listed the way Azure
AD lists it (``User_<id>``, ``<id>``, ``User``, the UPN). Property values are JSON arrays
rendered with ``\\r\\n`` line breaks, as in real ``ModifiedProperties``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from opencasb.sandbox.office365.state import O365State
from opencasb.sandbox.office365.tokens import Caller

__all__ = ["directory_record", "property_change"]


def _render(value: Any) -> str:
    # Azure AD writes '[\r\n  false\r\n]' for a single value.
    return json.dumps([value], indent=2).replace("\n", "\r\n")


def property_change(name: str, old: Any, new: Any) -> dict[str, str]:
    """One ``ModifiedProperties`` entry."""
    return {"Name": name, "NewValue": _render(new), "OldValue": _render(old)}


def directory_record(
    state: O365State,
    caller: Caller,
    operation: str,
    user: dict[str, Any],
    changes: list[dict[str, str]],
    when: datetime,
    client_ip: str,
) -> dict[str, Any]:
    """An Azure AD audit record of ``caller`` doing ``operation`` to ``user``."""
    app = state.apps.get(caller.app_id)
    name = app.name if app else caller.app_id
    sp = app.service_principal_id if app else caller.app_id
    upn = str(user.get("userPrincipalName", ""))
    included = ", ".join(c["Name"] for c in changes)
    return {
        "CreationTime": when.strftime("%Y-%m-%dT%H:%M:%S"),
        "Id": state.new_guid(),
        "Operation": operation,
        "OrganizationId": state.tenant_id,
        "RecordType": 8,
        "ResultStatus": "Success",
        "UserKey": "Not Available",
        "UserType": 4,  # the samples' value for non-human actors
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": client_ip,
        "ObjectId": upn,
        "UserId": f"ServicePrincipal_{sp}",
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": "User"},
        ],
        "ModifiedProperties": [
            *changes,
            {"Name": "Included Updated Properties", "NewValue": included, "OldValue": ""},
        ],
        "Actor": [
            {"ID": name, "Type": 1},
            {"ID": caller.app_id, "Type": 2},
            {"ID": f"ServicePrincipal_{sp}", "Type": 2},
            {"ID": sp, "Type": 2},
            {"ID": "ServicePrincipal", "Type": 2},
        ],
        "ActorContextId": state.tenant_id,
        "ActorIpAddress": client_ip,
        "InterSystemsId": state.new_guid(),
        "IntraSystemId": state.new_guid(),
        "SupportTicketId": "",
        "Target": [
            {"ID": f"User_{user['id']}", "Type": 2},
            {"ID": user["id"], "Type": 2},
            {"ID": "User", "Type": 2},
            {"ID": upn, "Type": 5},
        ],
        "TargetContextId": state.tenant_id,
    }
