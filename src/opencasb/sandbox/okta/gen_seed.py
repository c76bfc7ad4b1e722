"""The Okta directory objects of a synthetic org, in the wire shapes of the Users/Groups API.

Objects carry no ``_links``: the emulator adds them, since they depend on its base URL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.sandbox.okta.gen_directory import directory, user_status
from opencasb.sandbox.okta.gen_ids import mix
from opencasb.sandbox.org import Organisation

__all__ = ["DEFAULT_AS_OF", "iso_ms", "okta_seed_parts"]

# "Now" for lastLogin and friends when the caller does not say; matches FakeClock's default.
DEFAULT_AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

_GROUP_TYPES = {"everyone": "BUILT_IN", "department": "OKTA_GROUP", "app": "OKTA_GROUP"}


def iso_ms(dt: datetime) -> str:
    """``2024-08-13T15:58:20.353Z``: the timestamp format of every Okta API."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def okta_seed_parts(
    org: Organisation, *, as_of: datetime = DEFAULT_AS_OF
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]], dict[str, list[str]]]:
    """``(users, groups, memberships, admin_roles)`` for seeding an Okta emulator.

    ``users``/``groups`` are User and Group objects as ``GET /api/v1/users`` and
    ``/api/v1/groups`` return them (without ``_links``); ``memberships`` maps a group id to its
    user ids; ``admin_roles`` maps a user id to role types (``SUPER_ADMIN``, ...).
    Timestamps that need a "now" (``lastLogin``) are taken relative to ``as_of``.
    """
    d = directory(org)
    users: list[dict[str, Any]] = []
    for p in org.people:
        uid = d.user_ids[p.index]
        status = user_status(org, p)
        h = mix(org.seed, p.index, 0x5EED)
        created = p.created
        activated = None if status == "PROVISIONED" else created + timedelta(minutes=h % 90 + 1)
        changed = activated or created
        if status in ("SUSPENDED", "DEPROVISIONED", "LOCKED_OUT"):
            changed = as_of - timedelta(days=h % 60 + 1, seconds=h % 86_400)
        last_login = None
        if status in ("ACTIVE", "LOCKED_OUT"):
            last_login = as_of - timedelta(seconds=(h >> 8) % (3 * 86_400))
        elif status in ("SUSPENDED", "DEPROVISIONED"):
            last_login = changed - timedelta(days=(h >> 8) % 20 + 1)
        pwd = None if status == "PROVISIONED" else as_of - timedelta(days=(h >> 16) % 85 + 1)
        updated = max(x for x in (changed, pwd, created) if x is not None)
        profile: dict[str, Any] = {
            "firstName": p.first_name,
            "lastName": p.last_name,
            "mobilePhone": None,
            "secondEmail": None,
            "login": p.login,
            "email": p.email,
            "displayName": p.display_name,
            "title": p.title,
            "department": p.department,
            "employeeNumber": p.employee_number,
            "userType": p.kind.capitalize(),
            "city": p.city.name,
            "countryCode": p.country,
            "timezone": p.timezone,
            "organization": org.name,
        }
        users.append(
            {
                "id": uid,
                "status": status,
                "created": iso_ms(created),
                "activated": iso_ms(activated) if activated else None,
                "statusChanged": iso_ms(changed),
                "lastLogin": iso_ms(last_login) if last_login else None,
                "lastUpdated": iso_ms(updated),
                "passwordChanged": iso_ms(pwd) if pwd else None,
                "type": {"id": d.user_type_id},
                "profile": profile,
                "credentials": {
                    "password": {},
                    "emails": [{"value": p.email, "status": "VERIFIED", "type": "PRIMARY"}],
                    "provider": {"type": "OKTA", "name": "OKTA"},
                },
            }
        )
    groups: list[dict[str, Any]] = []
    memberships: dict[str, list[str]] = {}
    for i, g in enumerate(org.groups):
        gid = d.group_ids[i]
        created = org.founded + timedelta(days=i % 30, seconds=mix(org.seed, i) % 86_400)
        groups.append(
            {
                "id": gid,
                "created": iso_ms(created),
                "lastUpdated": iso_ms(created),
                "lastMembershipUpdated": iso_ms(as_of - timedelta(hours=i * 7 % 200 + 1)),
                "objectClass": ["okta:user_group"],
                "type": _GROUP_TYPES[g.kind],
                "profile": {"name": g.name, "description": g.description},
            }
        )
        memberships[gid] = [d.user_ids[m] for m in g.members]
    admin_roles = {d.user_ids[p.index]: list(p.admin_roles) for p in org.people if p.is_admin}
    return users, groups, memberships, admin_roles
