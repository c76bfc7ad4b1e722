"""Per-person templates for the System Log generator.

Everything that does not change from one event to the next (the actor object, a device's
``userAgent``, a location's ``geographicalContext``/``securityContext``/``ipChain``) is built
once here and *shared* by the events that use it. Generated events must therefore be treated
as read-only; copy one before changing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opencasb.sandbox.okta.gen_directory import ADMIN_CONSOLE, Directory
from opencasb.sandbox.org import ISPS, City, Device, Organisation, Person

__all__ = ["AppT", "DevT", "Loc", "OrgT", "PersonT", "build_templates", "geo", "make_loc"]

_OS = {
    "Windows": "Windows 10",
    "macOS": "Mac OS X",
    "Linux": "Linux",
    "iOS": "iOS",
    "iPadOS": "iOS",
    "Android": "Android",
}
_BROWSER = {"Chrome": "CHROME", "Edge": "EDGE", "Firefox": "FIREFOX", "Safari": "SAFARI"}
_SSO_MODE = {"SAML_2_0": "SAML 2.0", "WS_FEDERATION": "WS-Federation", "OPENID_CONNECT": "OIDC"}
_SSO_PATH = {"SAML_2_0": "sso/saml", "WS_FEDERATION": "sso/wsfed/passive", "OPENID_CONNECT": ""}


@dataclass(slots=True)
class Loc:
    """Where requests come from: an IP with its geography, network owner and Okta zone."""

    ip: str
    geo: dict[str, Any] | None
    security: dict[str, Any]
    chain: list[dict[str, Any]]
    zone: str
    trusted: bool  # inside a network zone the sign-on policy trusts (no MFA challenge)


@dataclass(slots=True)
class DevT:
    user_agent: dict[str, str]
    kind: str
    fingerprint: str
    mobile: bool


@dataclass(slots=True)
class AppT:
    index: int
    key: str
    label: str
    instance: dict[str, Any]  # the AppInstance target
    mode: str
    uri: str
    daily_use: float
    opens: float


@dataclass(slots=True)
class PersonT:
    person: Person
    uid: str
    status: str
    actor: dict[str, Any]
    user_target: dict[str, Any]
    devices: list[DevT]
    home: Loc
    office: Loc | None
    apps: list[AppT]
    app_users: list[dict[str, Any]]  # AppUser targets, parallel to ``apps``
    factors: tuple[str, str]  # (push enrollment id, TOTP enrollment id)
    created_day: int
    # (app position, chance used today, chance of a second open, gives out OAuth tokens)
    usage: list[tuple[int, float, float, bool]]


@dataclass(slots=True)
class OrgT:
    org: Organisation
    d: Directory
    people: list[PersonT]
    vpn: list[Loc]
    admin_console: dict[str, Any]
    admins: list[int]
    super_admins: list[int]
    policy_target: list[dict[str, Any]]


def geo(city: City) -> dict[str, Any]:
    return {
        "city": city.name,
        "state": city.state,
        "country": city.country_name,
        "postalCode": city.postal_code,
        "geolocation": {"lat": city.lat, "lon": city.lon},
    }


def make_loc(
    ip: str, g: dict[str, Any] | None, security: dict[str, Any], zone: str = "null"
) -> Loc:
    chain = [{"ip": ip, "geographicalContext": g, "version": "V4", "source": None}]
    return Loc(ip, g, security, chain, zone, zone == "Office Networks")


def isp_security(isp_key: str) -> dict[str, Any]:
    isp = ISPS[isp_key]
    return {
        "asNumber": isp.asn,
        "asOrg": isp.as_org,
        "isp": isp.name,
        "domain": isp.domain,
        "isProxy": False,
    }


def _device(dev: Device) -> DevT:
    ua = {
        "rawUserAgent": dev.user_agent,
        "os": _OS[dev.os_family],
        "browser": _BROWSER[dev.browser],
    }
    kind = "Computer" if dev.kind == "Computer" else "Mobile"
    return DevT(ua, kind, dev.id, kind == "Mobile")


def _hosts(cidr: str) -> list[str]:
    base, bits = cidr.split("/")
    a, b, c, d = (int(x) for x in base.split("."))
    return [f"{a}.{b}.{c}.{d + i}" for i in range(1, (1 << (32 - int(bits))) - 1)]


def build_templates(org: Organisation, d: Directory) -> OrgT:
    """Precompute every person's actor, devices, locations and app targets."""
    corp = {
        "asNumber": 64500,
        "asOrg": org.name.lower(),
        "isp": org.name.lower(),
        "domain": org.domain,
        "isProxy": False,
    }
    vpn_geo = geo(org.vpn_city)
    vpn = [make_loc(ip, vpn_geo, corp, "Corporate VPN") for c in org.vpn_egress for ip in _hosts(c)]
    offices: dict[str, list[Loc]] = {}
    for office in org.offices:
        g = geo(office.city)
        offices[office.city.key] = [
            make_loc(ip, g, corp, "Office Networks") for ip in _hosts(office.egress)
        ]
    geos: dict[str, dict[str, Any]] = {}
    apps: list[AppT] = []
    for i, (key, app) in enumerate(org.apps.items()):
        aid = d.app_ids[key]
        instance = {
            "id": aid,
            "type": "AppInstance",
            "alternateId": app.label,
            "displayName": app.label,
            "detailEntry": {"signOnModeType": app.protocol},
        }
        slug = f"{org.name.lower().replace(' ', '')}_{key}_1"
        path = _SSO_PATH[app.protocol]
        uri = f"/app/{slug}/{d.app_keys[key]}/{path}" if path else "/oauth2/v1/authorize"
        apps.append(
            AppT(
                i,
                key,
                app.label,
                instance,
                _SSO_MODE[app.protocol],
                uri,
                app.daily_use,
                app.opens_per_day,
            )
        )
    by_key = {a.key: a for a in apps}
    people: list[PersonT] = []
    for p in org.people:
        uid = d.user_ids[p.index]
        actor = {
            "id": uid,
            "type": "User",
            "alternateId": p.login,
            "displayName": p.display_name,
            "detailEntry": None,
        }
        home_geo = geos.get(p.city.key)
        if home_geo is None:
            home_geo = geos[p.city.key] = geo(p.city)
        office_locs = offices.get(p.city.key)
        my_apps = [by_key[k] for k in p.apps]
        people.append(
            PersonT(
                person=p,
                uid=uid,
                status=d.statuses[p.index],
                actor=actor,
                user_target=dict(actor),
                devices=[_device(x) for x in p.devices],
                home=make_loc(p.home_ip, home_geo, isp_security(p.home_isp)),
                office=office_locs[p.index % len(office_locs)] if office_locs else None,
                apps=my_apps,
                app_users=[
                    {
                        "id": d.app_user_id(p.index, a.index),
                        "type": "AppUser",
                        "alternateId": p.login,
                        "displayName": p.display_name,
                        "detailEntry": None,
                    }
                    for a in my_apps
                ],
                factors=(d.factor_id(p.index, 0), d.factor_id(p.index, 1)),
                created_day=p.created.toordinal(),
                usage=[
                    (i, a.daily_use, a.opens - 1.0, a.key in ("github", "aws"))
                    for i, a in enumerate(my_apps)
                ],
            )
        )
    admin_console = {
        "id": d.admin_console_id,
        "type": "AppInstance",
        "alternateId": ADMIN_CONSOLE,
        "displayName": ADMIN_CONSOLE,
        "detailEntry": None,
    }
    return OrgT(
        org=org,
        d=d,
        people=people,
        vpn=vpn,
        admin_console=admin_console,
        admins=[p.index for p in org.people if p.is_admin],
        super_admins=[p.index for p in org.people if "SUPER_ADMIN" in p.admin_roles],
        policy_target=[
            {
                "id": d.sign_on_policy[0],
                "type": "PolicyEntity",
                "alternateId": "unknown",
                "displayName": "Default Policy",
                "detailEntry": {"policyType": "OktaSignOn"},
            },
            {
                "id": d.sign_on_policy[1],
                "type": "PolicyRule",
                "alternateId": d.sign_on_policy[0],
                "displayName": "Default Rule",
                "detailEntry": None,
            },
        ],
    )
