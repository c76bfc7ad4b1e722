"""The tenant's directory as Microsoft Graph serves it: users and groups (research §3.3).

Users carry every property the emulator's ``$select`` knows; groups are one security group
and one Microsoft 365 ("Unified") group per department, an all-company Microsoft 365 group
and a few project groups spanning departments. Memberships are returned separately (group id
-> user ids): the emulator's Graph subset does not serve them, an inventory may.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.sandbox.office365.gen_ids import mix, stable_guid
from opencasb.sandbox.office365.gen_tenant import K_GROUP, O365Tenant, TenantT, build_tenant
from opencasb.sandbox.org import Organisation

__all__ = ["DEFAULT_AS_OF", "graph_directory"]

DEFAULT_AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_LANG = {"US": "en-US", "GB": "en-GB", "IE": "en-IE", "DE": "de-DE", "FR": "fr-FR", "CA": "en-CA"}
_PROJECTS = ("Falcon", "Orion", "Atlas", "Nimbus", "Harbor", "Quartz")


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _group(
    tenant: O365Tenant, gid: str, name: str, description: str, unified: bool, created: datetime
) -> dict[str, Any]:
    nick = "".join(ch for ch in name if ch.isalnum())
    mail = f"{nick}@{tenant.domain}" if unified else None
    return {
        "id": gid,
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": _stamp(created),
        "description": description,
        "displayName": name,
        "groupTypes": ["Unified"] if unified else [],
        "mail": mail,
        "mailEnabled": unified,
        "mailNickname": nick if unified else f"{nick}-{gid[:5]}",
        "onPremisesSyncEnabled": None,
        "proxyAddresses": [f"SMTP:{mail}", f"smtp:{nick}@{tenant.initial_domain}"]
        if unified
        else [],
        "securityEnabled": not unified,
        "securityIdentifier": f"S-1-12-1-{int(gid[:8], 16)}-{int(gid[9:13], 16)}",
        "visibility": "Private" if unified else None,
    }


def graph_directory(
    org: Organisation,
    tenant: O365Tenant,
    *,
    as_of: datetime = DEFAULT_AS_OF,
    tt: TenantT | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]]]:
    """``(users, groups, memberships)`` for seeding the emulator.

    Users are Graph user objects: ``userPrincipalName`` and ``mail`` are the person's e-mail
    (the Okta login), ``accountEnabled`` is false for people Okta has suspended or
    deprovisioned, ``userType`` is ``Guest`` for the org's guests, and a share of long-serving
    employees are synced from on-premises AD (``onPremisesSyncEnabled`` true, with an
    ``onPremisesImmutableId``; null otherwise, Graph's value for cloud-only users).
    ``signInActivity`` is relative to ``as_of``.
    """
    tt = tt or build_tenant(org, tenant)
    users: list[dict[str, Any]] = []
    for pt in tt.people:
        p = pt.person
        h = mix(org.seed, p.index, 0x6A9)
        office = next((o.name for o in org.offices if o.city is p.city), p.city.name)
        last = None
        if pt.enabled and pt.status == "ACTIVE":
            last = _stamp(as_of - timedelta(seconds=h % (3 * 86_400)))
        immutable = base64.b64encode(uuid.UUID(pt.oid).bytes_le).decode() if pt.sync else None
        users.append(
            {
                "id": pt.oid,
                "businessPhones": [f"+1 555 01{h % 100:02d}"] if p.kind == "employee" else [],
                "displayName": p.display_name,
                "givenName": p.first_name,
                "jobTitle": p.title,
                "mail": p.email,
                "mobilePhone": None,
                "officeLocation": office,
                "preferredLanguage": _LANG.get(p.country, "en-US"),
                "surname": p.last_name,
                "userPrincipalName": pt.upn,
                "accountEnabled": pt.enabled,
                "onPremisesSyncEnabled": True if pt.sync else None,
                "userType": pt.user_type,
                "createdDateTime": _stamp(p.created),
                "department": p.department,
                "usageLocation": p.country,
                "signInSessionsValidFromDateTime": _stamp(p.created + timedelta(hours=1)),
                "onPremisesImmutableId": immutable,
                "employeeId": p.employee_number,
                "companyName": org.name if p.kind != "guest" else None,
                "country": p.country_name,
                "city": p.city.name,
                "signInActivity": {"lastSignInDateTime": last},
            }
        )
    groups: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    ids = [pt.oid for pt in tt.people]
    for i, d in enumerate(tt.depts):
        created = org.founded + timedelta(days=i, seconds=mix(org.seed, i, 0x6A) % 86_400)
        who = [ids[m] for m in d.members]
        groups.append(_group(tenant, d.group_id, d.name, f"{d.name} department", False, created))
        groups.append(
            _group(tenant, d.unified_id, d.team_name, f"The {d.name} team", True, created)
        )
        members[d.group_id] = who
        members[d.unified_id] = who
    everyone = stable_guid(org.seed, K_GROUP, 9_999)
    groups.append(_group(tenant, everyone, "All Company", "Everyone", True, org.founded))
    members[everyone] = [pt.oid for pt in tt.people if pt.user_type == "Member"]
    for k, name in enumerate(_PROJECTS):
        gid = stable_guid(org.seed, K_GROUP, 5_000 + k)
        created = as_of - timedelta(days=30 + 41 * k)
        groups.append(_group(tenant, gid, f"Project {name}", f"Project {name}", True, created))
        size = min(len(ids), 8 + mix(org.seed, k) % 20)
        members[gid] = list(dict.fromkeys(ids[mix(org.seed, k, n) % len(ids)] for n in range(size)))
    return users, groups, members
