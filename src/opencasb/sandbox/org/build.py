"""``build_org``: the whole synthetic organisation, deterministic from ``(seed, size)``."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from opencasb.sandbox.org.devices import make_devices
from opencasb.sandbox.org.people import DEPARTMENTS, FIRST_NAMES, LAST_NAMES, Person
from opencasb.sandbox.org.places import CITIES, CITY_BY_KEY, EGRESS_NETS, City

__all__ = [
    "APPS",
    "BASE_APPS",
    "App",
    "Group",
    "Office",
    "Organisation",
    "build_org",
]

MIN_SIZE, MAX_SIZE = 50, 20_000

# The org existed before anyone in it; every ``created`` lies in [ORG_FOUNDED, HIRED_UNTIL).
ORG_FOUNDED = datetime(2017, 3, 1, tzinfo=UTC)
HIRED_UNTIL = datetime(2025, 10, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class App:
    """An SSO application the org uses.

    ``daily_use`` is the chance an assigned person opens it on a working day and
    ``opens_per_day`` how many times (on average) when they do.
    """

    key: str
    label: str
    protocol: str  # "SAML_2_0" | "WS_FEDERATION" | "OPENID_CONNECT"
    daily_use: float
    opens_per_day: float


@dataclass(frozen=True, slots=True)
class Group:
    """A group of people. ``kind`` is "everyone", "department" or "app"; members are indexes."""

    key: str
    name: str
    description: str
    kind: str
    members: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Office:
    """An office and the public network its traffic leaves from (a CIDR)."""

    name: str
    city: City
    egress: str


APPS: dict[str, App] = {
    a.key: a
    for a in (
        App("office365", "Microsoft Office 365", "WS_FEDERATION", 0.95, 2.0),
        App("slack", "Slack", "SAML_2_0", 0.9, 1.5),
        App("zoom", "Zoom", "SAML_2_0", 0.6, 1.0),
        App("workday", "Workday", "SAML_2_0", 0.08, 1.0),
        App("salesforce", "Salesforce.com", "SAML_2_0", 0.85, 1.8),
        App("github", "GitHub Enterprise Cloud - Organization", "SAML_2_0", 0.8, 1.2),
        App("aws", "AWS IAM Identity Center", "SAML_2_0", 0.6, 1.3),
        App("jira", "Atlassian Cloud", "SAML_2_0", 0.7, 1.0),
        App("box", "Box", "SAML_2_0", 0.3, 1.0),
        App("docusign", "DocuSign", "SAML_2_0", 0.2, 1.0),
        App("netsuite", "NetSuite", "SAML_2_0", 0.7, 1.2),
        App("zendesk", "Zendesk", "SAML_2_0", 0.9, 1.2),
        App("servicenow", "ServiceNow UD", "SAML_2_0", 0.6, 1.0),
        App("tableau", "Tableau Cloud", "OPENID_CONNECT", 0.3, 1.0),
    )
}
BASE_APPS: tuple[str, ...] = ("office365", "slack", "zoom", "workday")
GUEST_APPS: tuple[str, ...] = ("office365", "slack", "zoom")

# (primary country cities, secondary country cities), picked by seed.
_PROFILES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("nyc", "sfo", "chi", "aus", "sea", "bos", "den", "atl"), ("lon", "man", "edi")),
    (("lon", "man", "edi"), ("dub",)),
    (("sfo", "sea", "nyc", "aus", "den", "chi"), ("tor", "van")),
    (("ber", "muc", "ham"), ("ams",)),
)
_ORG_NAMES = ("Acme Corporation", "Globex", "Initech", "Umbrella Labs", "Hooli", "Vandelay")


@dataclass(frozen=True, slots=True)
class Organisation:
    """The synthetic organisation: people, apps, groups, offices and network egress.

    ``vpn_egress`` and each office's ``egress`` are /28s of :data:`EGRESS_NETS` in the
    country of the VPN's or office's city (real ranges, so that GeoIP places them where the
    org says they are); they are what a CASB would be configured with as "corporate" and
    "vpn" address ranges (the demo's lists in ``opencasb/sandbox/data``).
    """

    seed: int
    size: int
    domain: str
    name: str
    people: tuple[Person, ...]
    apps: dict[str, App]
    groups: tuple[Group, ...]
    offices: tuple[Office, ...]
    vpn_egress: tuple[str, ...]
    vpn_city: City
    head_countries: tuple[str, ...]
    founded: datetime

    def admins(self) -> tuple[Person, ...]:
        """The people with at least one admin role."""
        return tuple(p for p in self.people if p.is_admin)


def _local_part(first: str, last: str) -> str:
    clean = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    return clean


def _pick_city(rng: random.Random, primary: tuple[str, ...], secondary: tuple[str, ...]) -> City:
    roll = rng.random()
    if roll < 0.72:
        # The first city of the primary country is the head office: it gets the most people.
        return CITY_BY_KEY[primary[0] if rng.random() < 0.4 else rng.choice(primary)]
    if roll < 0.88:
        return CITY_BY_KEY[rng.choice(secondary)]
    return rng.choice(CITIES)


def _assign_admins(rng: random.Random, people: list[Person]) -> None:
    """Give admin roles, mostly to IT and Security staff (in place)."""
    size = len(people)
    it = [p.index for p in people if p.department == "IT" and p.kind == "employee"]
    sec = [p.index for p in people if p.department == "Security" and p.kind == "employee"]
    eng = [p.index for p in people if p.department == "Engineering" and p.kind == "employee"]
    rest = [p.index for p in people if p.kind == "employee"]
    pools = {
        "SUPER_ADMIN": (it, min(6, 2 + size // 5000)),
        "ORG_ADMIN": (it, max(1, size // 900)),
        "HELP_DESK_ADMIN": (it, max(2, size // 400)),
        "APP_ADMIN": (it + eng, max(1, size // 1200)),
        "READ_ONLY_ADMIN": (sec + it, max(1, size // 1500)),
    }
    roles: dict[int, list[str]] = {}
    for role, (pool, count) in pools.items():
        candidates = [i for i in pool if role not in roles.get(i, ())]
        rng.shuffle(candidates)
        if len(candidates) < count:
            extra = [i for i in rest if i not in candidates and role not in roles.get(i, ())]
            rng.shuffle(extra)
            candidates += extra
        for i in candidates[:count]:
            roles.setdefault(i, []).append(role)
    for i, r in roles.items():
        people[i] = replace(people[i], is_admin=True, admin_roles=tuple(r))


def build_org(seed: int, size: int, *, domain: str = "example.com") -> Organisation:
    """Build the organisation of ``size`` people (50..20,000), fully determined by the seed.

    Raises ``ValueError`` for a size out of range.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE}, not {size}")
    rng = random.Random(f"opencasb-org:{seed}:{size}")
    primary, secondary = _PROFILES[seed % len(_PROFILES)]
    dept_weights = [d.weight for d in DEPARTMENTS]
    span = int((HIRED_UNTIL - ORG_FOUNDED).total_seconds())
    office_cities = {primary[0], primary[1] if len(primary) > 1 else primary[0], secondary[0]}
    used: set[str] = set()
    people: list[Person] = []
    for i in range(size):
        dept = rng.choices(DEPARTMENTS, weights=dept_weights)[0]
        roll = rng.random()
        kind = "guest" if roll < 0.03 else "contractor" if roll < 0.13 else "employee"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = _local_part(first, last)
        n = 1
        while (local if n == 1 else f"{local}{n}") in used:
            n += 1
        local = local if n == 1 else f"{local}{n}"
        used.add(local)
        city = _pick_city(rng, primary, secondary)
        isp, net = rng.choice(city.nets)
        technical = dept.name in ("Engineering", "IT", "Security")
        start = 7 * 60 + 15 * rng.randrange(13)
        people.append(
            Person(
                index=i,
                first_name=first,
                last_name=last,
                email=f"{local}@{domain}",
                department=dept.name,
                title="External Collaborator" if kind == "guest" else rng.choice(dept.titles),
                kind=kind,
                employee_number=f"{'C' if kind != 'employee' else 'E'}{100000 + i:06d}",
                city=city,
                home_ip=f"{net}.{rng.randrange(1, 255)}.{rng.randrange(1, 255)}",
                home_isp=isp,
                work_start=start,
                work_end=start + 8 * 60 + 15 * rng.randrange(7),
                devices=make_devices(rng, technical),
                apps=GUEST_APPS if kind == "guest" else BASE_APPS + dept.apps,
                is_admin=False,
                admin_roles=(),
                travels=rng.random() < (0.4 if dept.name in ("Sales", "Executive") else 0.06),
                uses_vpn=rng.random() < (0.45 if technical or kind == "contractor" else 0.15),
                office_days=rng.choice((0.2, 0.4, 0.6, 0.8)) if city.key in office_cities else 0.0,
                created=ORG_FOUNDED + timedelta(seconds=rng.randrange(span)),
            )
        )
    _assign_admins(rng, people)
    offices = tuple(
        Office(
            f"{CITY_BY_KEY[k].name} office",
            CITY_BY_KEY[k],
            f"{EGRESS_NETS[CITY_BY_KEY[k].country]}.{16 * n}/28",
        )
        for n, k in enumerate(sorted(office_cities))
    )
    return Organisation(
        seed=seed,
        size=size,
        domain=domain,
        name=_ORG_NAMES[seed % len(_ORG_NAMES)],
        people=tuple(people),
        apps=dict(APPS),
        groups=_groups(people),
        offices=offices,
        vpn_egress=tuple(
            f"{EGRESS_NETS[CITY_BY_KEY[primary[0]].country]}.{d}/28" for d in (128, 192)
        ),
        vpn_city=CITY_BY_KEY[primary[0]],
        head_countries=(CITY_BY_KEY[primary[0]].country, CITY_BY_KEY[secondary[0]].country),
        founded=ORG_FOUNDED,
    )


def _groups(people: list[Person]) -> tuple[Group, ...]:
    everyone = Group(
        "everyone",
        "Everyone",
        "All users in your organization",
        "everyone",
        tuple(p.index for p in people),
    )
    depts = tuple(
        Group(
            f"dept-{d.name.lower().replace(' ', '-')}",
            d.name,
            f"Members of the {d.name} department",
            "department",
            tuple(p.index for p in people if p.department == d.name),
        )
        for d in DEPARTMENTS
    )
    apps = tuple(
        Group(
            f"app-{a.key}",
            f"{a.label} Users",
            f"People assigned to {a.label}",
            "app",
            tuple(p.index for p in people if a.key in p.apps),
        )
        for a in APPS.values()
    )
    return (everyone, *depts, *apps)
