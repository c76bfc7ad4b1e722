"""The Okta view of a synthetic organisation: ids, statuses and config objects.

Everything is a pure function of the org, so the seed objects served by the emulator and the
System Log events refer to the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from opencasb.sandbox.okta.gen_ids import mix, okta_id, org_suffix
from opencasb.sandbox.org import Organisation, Person

__all__ = ["ADMIN_CONSOLE", "Directory", "directory", "user_status"]

# Namespaces for okta_id(): any distinct ints will do; they are part of the stable ids.
K_USER, K_GROUP, K_APP, K_APPUSER, K_POLICY, K_RULE, K_ZONE = 1, 2, 3, 4, 5, 6, 7
K_FACTOR, K_TOKEN, K_TYPE, K_SYSTEM, K_NEWHIRE, K_EXK, K_CLIENT = 8, 9, 10, 11, 12, 13, 14

ADMIN_CONSOLE = "Okta Admin Console"

# Per-mille thresholds on a per-person hash: the rest are ACTIVE.
_STATUS_BANDS = (
    (10, "SUSPENDED"),
    (25, "DEPROVISIONED"),
    (29, "LOCKED_OUT"),
    (35, "PROVISIONED"),
)


def user_status(org: Organisation, person: Person) -> str:
    """The person's Okta status: mostly ACTIVE, a few SUSPENDED/DEPROVISIONED/... (admins and
    everyone hired in the org's first year are always ACTIVE)."""
    if person.is_admin:
        return "ACTIVE"
    roll = mix(org.seed, person.index, 0x57A7) % 1000
    for limit, status in _STATUS_BANDS:
        if roll < limit:
            return status
    return "ACTIVE"


@dataclass(frozen=True, slots=True)
class Directory:
    """Okta ids for the org's objects. Lists are indexed like ``org.people``/``org.groups``."""

    suffix: str
    user_ids: tuple[str, ...]
    statuses: tuple[str, ...]
    group_ids: tuple[str, ...]
    app_ids: dict[str, str]
    app_keys: dict[str, str]  # the "exk..." SAML key that appears in SSO URLs
    admin_console_id: str
    user_type_id: str
    system_principal_id: str
    sign_on_policy: tuple[str, str]  # (policy id, rule id)
    mfa_policy: tuple[str, str]
    password_policy: tuple[str, str]
    zones: tuple[tuple[str, str], ...]  # (zone id, zone name)
    seed: int

    def app_user_id(self, person_index: int, app_index: int) -> str:
        return okta_id("0ua", self.seed, K_APPUSER, person_index * 64 + app_index, self.suffix)

    def factor_id(self, person_index: int, kind: int) -> str:
        prefix = ("opf", "ost", "pfd")[kind]
        return okta_id(prefix, self.seed, K_FACTOR, person_index * 4 + kind, self.suffix)


def directory(org: Organisation) -> Directory:
    """Derive the Okta ids of ``org`` (a few ms for 20,000 people)."""
    s, sx = org.seed, org_suffix(org.seed)
    app_ids = {k: okta_id("0oa", s, K_APP, i, sx) for i, k in enumerate(org.apps)}
    return Directory(
        suffix=sx,
        user_ids=tuple(okta_id("00u", s, K_USER, p.index, sx) for p in org.people),
        statuses=tuple(user_status(org, p) for p in org.people),
        group_ids=tuple(okta_id("00g", s, K_GROUP, i, sx) for i in range(len(org.groups))),
        app_ids=app_ids,
        app_keys={k: okta_id("exk", s, K_EXK, i, sx) for i, k in enumerate(org.apps)},
        admin_console_id=okta_id("0oa", s, K_APP, 999, sx),
        user_type_id=okta_id("oty", s, K_TYPE, 0, sx),
        system_principal_id=okta_id("spr", s, K_SYSTEM, 0, sx),
        sign_on_policy=(okta_id("00p", s, K_POLICY, 0, sx), okta_id("0pr", s, K_RULE, 0, sx)),
        mfa_policy=(okta_id("rst", s, K_POLICY, 1, sx), okta_id("rul", s, K_RULE, 1, sx)),
        password_policy=(okta_id("00p", s, K_POLICY, 2, sx), okta_id("0pr", s, K_RULE, 2, sx)),
        zones=(
            (okta_id("nzo", s, K_ZONE, 0, sx), "LegacyIpZone"),
            (okta_id("nzo", s, K_ZONE, 1, sx), "BlockedIpZone"),
            (okta_id("nzo", s, K_ZONE, 2, sx), "Corporate VPN"),
            (okta_id("nzo", s, K_ZONE, 3, sx), "Office Networks"),
        ),
        seed=s,
    )
