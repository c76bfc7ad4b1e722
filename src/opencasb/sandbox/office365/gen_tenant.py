"""The Office 365 view of a synthetic organisation: the tenant, and per-person templates.

Everything a record needs that does not change from one record to the next (a person's ids,
keys, actor lists, devices, addresses, OneDrive and department sites, files) is computed once
here. Record builders share these objects between records, so generated records must be
treated as read-only.

People are the org's people with the e-mail address as ``userPrincipalName`` (the same login
the Okta half uses); whether an account is enabled follows the Okta status, so both halves
tell one story (a suspended Okta user is a disabled Azure AD account, without activity).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from opencasb.sandbox.office365.gen_ids import mix, random_guid, seed_guid, sid, stable_guid
from opencasb.sandbox.okta.gen_directory import user_status
from opencasb.sandbox.org import DEPARTMENTS, ISPS, Device, Organisation, Person

__all__ = [
    "DeptT",
    "DevT",
    "FileT",
    "O365Tenant",
    "PersonT",
    "SiteT",
    "TenantT",
    "build_tenant",
    "tenant_for",
]

# Namespaces for stable_guid(): any distinct ints; they are part of the stable ids.
K_USER, K_GROUP, K_TEAM, K_SITE, K_WEB, K_LIST, K_FILE = range(1, 8)

_OS = {
    "Windows": "Windows10",
    "macOS": "MacOs",
    "Linux": "Linux",
    "iOS": "Ios",
    "iPadOS": "Ios",
    "Android": "Android",
}
_STEMS = (
    "Budget {y}", "Q{q} forecast", "Meeting notes {d}", "Project plan", "Roadmap {y}",
    "Status report wk{w}", "Customer list", "Invoice {n}", "Contract draft v{v}",
    "Team presentation", "Onboarding checklist", "Architecture overview", "Expense report {d}",
    "Offsite agenda", "Pipeline review", "Design spec v{v}", "Release notes {n}",
    "Interview feedback", "Board deck Q{q}", "Policy review", "Vendor comparison",
    "Headcount plan {y}", "Training material", "Runbook", "Pricing model",
)  # fmt: skip
_EXTS = ("docx", "docx", "xlsx", "xlsx", "pptx", "pdf", "csv", "png", "txt", "one")
_ENABLED = frozenset({"ACTIVE", "LOCKED_OUT", "PROVISIONED", "STAGED"})


@dataclass(frozen=True, slots=True)
class O365Tenant:
    """The tenant: its GUID, verified domain (the org's e-mail domain), initial
    ``*.onmicrosoft.com`` domain and SharePoint host names."""

    tenant_id: str
    domain: str
    initial_domain: str
    sharepoint: str  # https://acme.sharepoint.com
    onedrive: str  # https://acme-my.sharepoint.com
    display_name: str


def tenant_for(org: Organisation, tenant_id: str | None = None) -> O365Tenant:
    """The org's tenant; the tenant id defaults to one derived from the org's seed."""
    slug = re.sub(r"[^a-z0-9]", "", org.name.lower()) or "contoso"
    return O365Tenant(
        tenant_id=(tenant_id or seed_guid(org.seed, "tenant")).lower(),
        domain=org.domain,
        initial_domain=f"{slug}.onmicrosoft.com",
        sharepoint=f"https://{slug}.sharepoint.com",
        onedrive=f"https://{slug}-my.sharepoint.com",
        display_name=org.name,
    )


@dataclass(frozen=True, slots=True)
class FileT:
    """A document: name, extension, folder (relative to its site), list item id and full URL
    (``ObjectId`` = site URL + folder + "/" + name)."""

    name: str
    ext: str
    folder: str
    item_id: str
    object_id: str


@dataclass(slots=True)
class SiteT:
    """A document library site: a person's OneDrive or a department's SharePoint site."""

    url: str  # ends with "/"
    site_id: str
    web_id: str
    list_id: str
    workload: str  # "OneDrive" | "SharePoint"
    files: list[FileT]
    owner: str  # display name (DLP metadata)


@dataclass(slots=True)
class DevT:
    """A device as Azure AD and the workloads see it."""

    user_agent: str
    os: str
    browser: str
    kind: str
    device_id: str
    name: str
    managed: bool
    # ExtendedProperties lists, built on first use per (detail, request, kmsi, method).
    ext: dict[tuple[str, str, str, str], list[dict[str, str]]] = field(default_factory=dict)


@dataclass(slots=True)
class PersonT:
    """One person, as every record about them needs them."""

    person: Person
    index: int
    upn: str
    name: str
    oid: str
    puid: str
    status: str
    enabled: bool
    sync: bool
    user_type: str  # Graph: "Member" | "Guest"
    dir_key: str  # UserKey of directory (RecordType 8) records: PUID@initial domain
    sp_key: str  # UserKey of SharePoint/OneDrive records
    mailbox: str
    owner_sid: str
    devices: list[DevT]
    home: str
    home6: str | None  # the home line's IPv6 address, when the ISP gives one
    office: str | None
    vpn: str
    onedrive: SiteT
    dept: int  # index into TenantT.depts
    actor: list[dict[str, Any]]  # STS Actor list
    dir_actor: list[dict[str, Any]]  # directory-record Actor list
    powerbi: bool
    crm: bool
    created_day: int
    # Constant parts of this person's records, built by the record builders on first use.
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DeptT:
    """A department: its security group, Microsoft 365 group (and team) and its site."""

    name: str
    group_id: str
    unified_id: str
    team_guid: str
    team_name: str
    site: SiteT
    members: list[int]


@dataclass(slots=True)
class TenantT:
    org: Organisation
    tenant: O365Tenant
    people: list[PersonT]
    depts: list[DeptT]
    admins: list[int]  # people with an admin role, who do directory and Exchange admin work
    vpn: list[str]


def _hosts(cidr: str) -> list[str]:
    base, bits = cidr.split("/")
    a, b, c, d = (int(x) for x in base.split("."))
    return [f"{a}.{b}.{c}.{d + i}" for i in range(1, (1 << (32 - int(bits))) - 1)]


def _files(seed: int, owner: int, n: int, url: str, folders: tuple[str, ...]) -> list[FileT]:
    out = []
    rng = random.Random(mix(seed, K_FILE, owner))
    for _ in range(n):
        h = rng.getrandbits(64)
        stem = _STEMS[h % len(_STEMS)].format(
            y=2024 + (h >> 8) % 3,
            q=(h >> 10) % 4 + 1,
            d=f"{(h >> 12) % 12 + 1:02d}-{(h >> 16) % 28 + 1:02d}",
            w=(h >> 20) % 52 + 1,
            n=(h >> 24) % 9000 + 1000,
            v=(h >> 28) % 5 + 1,
        )
        ext = _EXTS[(h >> 32) % len(_EXTS)]
        folder = folders[(h >> 36) % len(folders)]
        name = f"{stem}.{ext}"
        item = random_guid(rng)
        out.append(FileT(name, ext, folder, item, f"{url}{folder}/{name}"))
    return out


def _device(rng: random.Random, p: Person, dev: Device) -> DevT:
    managed = dev.kind == "Computer" and p.kind == "employee"
    name = f"{'LAPTOP' if dev.os_family == 'Windows' else 'MAC'}-{dev.id[:7].upper()}"
    return DevT(
        user_agent=dev.user_agent,
        os=_OS[dev.os_family],
        browser=dev.browser,
        kind=dev.kind,
        device_id=random_guid(rng) if managed else "",
        name=name if managed else "",
        managed=managed,
    )


def build_tenant(org: Organisation, tenant: O365Tenant) -> TenantT:
    """Precompute the tenant's people and departments (tens of ms for 10,000 people)."""
    s = org.seed
    vpn = [ip for c in org.vpn_egress for ip in _hosts(c)]
    offices = {o.city.key: _hosts(o.egress) for o in org.offices}
    dept_index = {d.name: i for i, d in enumerate(DEPARTMENTS)}
    depts: list[DeptT] = []
    for i, d in enumerate(DEPARTMENTS):
        url = f"{tenant.sharepoint}/sites/{d.name.replace(' ', '')}/"
        site = SiteT(
            url=url,
            site_id=stable_guid(s, K_SITE, 10_000_000 + i),
            web_id=stable_guid(s, K_WEB, 10_000_000 + i),
            list_id=stable_guid(s, K_LIST, 10_000_000 + i),
            workload="SharePoint",
            files=_files(
                s, 10_000_000 + i, 40, url, ("Shared Documents", "Shared Documents/General")
            ),
            owner=f"{d.name} Owners",
        )
        team = mix(s, K_TEAM, i)
        depts.append(
            DeptT(
                name=d.name,
                group_id=stable_guid(s, K_GROUP, i),
                unified_id=stable_guid(s, K_GROUP, 1000 + i),
                team_guid=f"19:{team:016x}{mix(team, 1):016x}@thread.tacv2",
                team_name=f"{d.name} Team",
                site=site,
                members=[],
            )
        )
    people: list[PersonT] = []
    for p in org.people:
        i = p.index
        # One generator per person for the person's ids: cheaper than hashing each one.
        rng = random.Random(mix(s, i, K_USER))
        h = rng.getrandbits(64)
        oid = random_guid(rng)
        pu = f"100320{rng.getrandbits(40):010X}"
        upn = p.email
        status = user_status(org, p)
        od_url = f"{tenant.onedrive}/personal/{re.sub(r'[.@-]', '_', upn)}/"
        home_hosts = offices.get(p.city.key)
        actor = [{"ID": oid, "Type": 0}, {"ID": upn, "Type": 5}]
        dir_actor = [
            {"ID": upn, "Type": 5},
            {"ID": pu, "Type": 3},
            {"ID": f"User_{oid}", "Type": 2},
            {"ID": oid, "Type": 2},
            {"ID": "User", "Type": 2},
        ]
        dept = dept_index[p.department]
        depts[dept].members.append(i)
        people.append(
            PersonT(
                person=p,
                index=i,
                upn=upn,
                name=p.display_name,
                oid=oid,
                puid=pu,
                status=status,
                enabled=status in _ENABLED,
                # Staff hired before 2023 came over from the on-premises directory.
                sync=p.kind == "employee" and p.created.year < 2023 and h % 100 < 70,
                user_type="Guest" if p.kind == "guest" else "Member",
                dir_key=f"{pu}@{tenant.initial_domain}",
                sp_key=f"i:0h.f|membership|{pu.lower()}@live.com",
                mailbox=random_guid(rng),
                owner_sid=sid(s, i),
                devices=[_device(rng, p, d) for d in p.devices],
                home=p.home_ip,
                # In the home ISP's own IPv6 /32, so that GeoIP places it in the home country.
                home6=f"{v6}:{h >> 16 & 0xFFFF:x}:{h >> 32 & 0xFFFF:x}::{h >> 48 & 0xFFF:x}"
                if h % 100 < 25 and (v6 := ISPS[p.home_isp].v6)
                else None,
                office=home_hosts[i % len(home_hosts)] if home_hosts else None,
                vpn=vpn[i % len(vpn)],
                onedrive=SiteT(
                    url=od_url,
                    site_id=random_guid(rng),
                    web_id=random_guid(rng),
                    list_id=random_guid(rng),
                    workload="OneDrive",
                    files=_files(
                        s, i, 12, od_url, ("Documents", "Documents/Projects", "Documents/Notes")
                    ),
                    owner=p.display_name,
                ),
                dept=dept,
                actor=actor,
                dir_actor=dir_actor,
                powerbi=p.department in ("Finance", "Sales", "Operations", "Executive", "Product"),
                crm=p.department in ("Sales", "Customer Support", "Marketing"),
                created_day=p.created.toordinal(),
            )
        )
    return TenantT(
        org=org,
        tenant=tenant,
        people=people,
        depts=depts,
        admins=[p.index for p in org.people if p.is_admin],
        vpn=vpn,
    )
