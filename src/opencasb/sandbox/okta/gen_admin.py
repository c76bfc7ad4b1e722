"""Builders for admin work and org-wide events (threats, rate limits, API tokens)."""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.okta.gen_context import DevT, Loc, make_loc
from opencasb.sandbox.okta.gen_events import Sess, event

__all__ = ["ADMIN_ACTIONS", "ATTACKERS", "admin_action", "rate_limit", "threat"]

ROLE_NAMES = {
    "SUPER_ADMIN": ("SuperOrgAdmin", "Super Organization Administrator", "Super administrator"),
    "ORG_ADMIN": ("OrgAdmin", "Organization Administrator", "Organization administrator"),
    "APP_ADMIN": ("AppAdmin", "Application Administrator", "Application administrator (all)"),
    "HELP_DESK_ADMIN": ("HelpDeskAdmin", "Help Desk Administrator", "Help Desk administrator"),
    "READ_ONLY_ADMIN": ("ReadOnlyAdmin", "Read Only Administrator", "Read only administrator"),
}

# action -> (eventType, legacyEventType, displayMessage, request path template)
ADMIN_ACTIONS: dict[str, tuple[str, str, str, str]] = {
    "create": (
        "user.lifecycle.create",
        "core.user.config.user_creation.success",
        "Create okta user",
        "/api/v1/users",
    ),
    "activate": (
        "user.lifecycle.activate",
        "core.user.config.user_activated",
        "Activate Okta user",
        "/api/v1/users/{u}/lifecycle/activate",
    ),
    "suspend": (
        "user.lifecycle.suspend",
        "core.user.config.user_status.suspended",
        "Suspend Okta user",
        "/api/v1/users/{u}/lifecycle/suspend",
    ),
    "unsuspend": (
        "user.lifecycle.unsuspend",
        "core.user.config.user_status.unsuspended",
        "Unsuspend Okta user",
        "/api/v1/users/{u}/lifecycle/unsuspend",
    ),
    "group_add": (
        "group.user_membership.add",
        "core.user_group_member.user_add",
        "Add user to group membership",
        "/api/v1/groups/{g}/users/{u}",
    ),
    "group_remove": (
        "group.user_membership.remove",
        "core.user_group_member.user_remove",
        "Remove user from group membership",
        "/api/v1/groups/{g}/users/{u}",
    ),
    "app_add": (
        "application.user_membership.add",
        "app.generic.provision.assign_user_to_app",
        "Add user to application membership",
        "/api/v1/apps/{a}/users",
    ),
    "grant": (
        "user.account.privilege.grant",
        "core.user.admin_privilege.granted",
        "Grant user privilege",
        "/api/v1/users/{u}/roles",
    ),
    "reset_factors": (
        "user.mfa.factor.reset_all",
        "core.user.factor.reset_all",
        "Reset all factors for user",
        "/api/v1/users/{u}/lifecycle/reset_factors",
    ),
    "policy_rule": (
        "policy.rule.update",
        "policy.rule.updated",
        "Update policy rule",
        "/api/v1/policies/{p}/rules/{r}",
    ),
    "zone": ("zone.update", "zone.update", "Update network zone", "/api/v1/zones/{z}"),
    "token_create": (
        "system.api_token.create",
        "api.token.create",
        "Create API token",
        "/api/internal/tokens",
    ),
    "token_revoke": (
        "system.api_token.revoke",
        "api.token.revoke",
        "Revoke API token",
        "/api/internal/tokens/{t}",
    ),
}


def admin_action(ms: int, s: Sess, r: int, x: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """An admin's change. ``x`` is (action, args): args hold the targets and path fields."""
    action, a = x
    et, legacy, message, path = ADMIN_ACTIONS[action]
    uri = path.format(**a.get("path", {}))
    debug: dict[str, Any] = {"requestUri": uri, "threatSuspected": "false", "url": uri}
    if action == "grant":
        debug["privilegeGranted"] = ROLE_NAMES[a["role"]][2]
    elif action == "app_add":
        debug["appname"] = a["appname"]
    elif action == "zone":
        debug["zoneData"] = '{"type":"IP","gateways":[],"proxies":[]}'
    return event(ms, r, s, et, legacy, message, "SUCCESS", None, "INFO", debug, a["target"])


def role_targets(role: str) -> list[dict[str, Any]]:
    """The two non-user targets of ``user.account.privilege.grant``."""
    rid, display, _ = ROLE_NAMES[role]
    return [
        {
            "id": "ROLE_ASSIGNED",
            "type": "ROLE_ASSIGNED",
            "alternateId": "unknown",
            "displayName": "Role Assigned",
            "detailEntry": None,
        },
        {
            "id": rid,
            "type": "ROLE",
            "alternateId": "unknown",
            "displayName": display,
            "detailEntry": None,
        },
    ]


# Hosting networks that credential-stuffing traffic typically comes from (each /16 or /24 wholly
# in its country in the shipped GeoIP database; the last one is the demo's Tor exits):
# (a.b prefix, asn, as org, isp, domain, city, state, country, postal, lat, lon)
ATTACKERS: tuple[tuple[str, int, str, str, str, str, str, str, str, float, float], ...] = (
    (
        "5.9",
        24940,
        "hetzner online gmbh",
        "hetzner online gmbh",
        "your-server.de",
        "Nuremberg",
        "Bavaria",
        "Germany",
        "90402",
        49.4521,
        11.0767,
    ),
    (
        "104.131",
        14061,
        "digitalocean llc",
        "digitalocean llc",
        "digitalocean.com",
        "North Bergen",
        "New Jersey",
        "United States",
        "07047",
        40.7939,
        -74.0247,
    ),
    (
        "51.91",
        16276,
        "ovh sas",
        "ovh sas",
        "ovh.net",
        "Roubaix",
        "Hauts-de-France",
        "France",
        "59100",
        50.6942,
        3.1746,
    ),
    (
        "95.216",
        24940,
        "hetzner online gmbh",
        "hetzner online gmbh",
        "your-server.de",
        "Helsinki",
        "Uusimaa",
        "Finland",
        "00100",
        60.1699,
        24.9384,
    ),
    (
        "3.1",
        16509,
        "amazon.com, inc.",
        "amazon.com, inc.",
        "amazonaws.com",
        "Singapore",
        "Singapore",
        "Singapore",
        "018989",
        1.2897,
        103.8501,
    ),
    (
        "185.220.102",
        60729,
        "stiftung erneuerbare freiheit",
        "stiftung erneuerbare freiheit",
        "torproject.org",
        "Berlin",
        "Land Berlin",
        "Germany",
        "10117",
        52.517,
        13.3889,
    ),
)

BOT_UA = DevT(
    {"rawUserAgent": "python-requests/2.32.3", "os": "Unknown", "browser": "UNKNOWN"},
    "Unknown",
    "",
    False,
)
API_UA = DevT(
    {"rawUserAgent": "python-httpx/0.28.1", "os": "Unknown", "browser": "UNKNOWN"},
    "Unknown",
    "",
    False,
)


def attacker(r: int) -> tuple[dict[str, Any], Loc]:
    """An attacking IP (as the actor) and its location, from random bits."""
    pfx, asn, as_org, isp, domain, city, state, country, postal, lat, lon = ATTACKERS[
        r % len(ATTACKERS)
    ]
    if pfx.count(".") == 1:  # a /16
        ip = f"{pfx}.{(r >> 8) % 254 + 1}.{(r >> 16) % 254 + 1}"
    else:  # a /24 (the Tor exits)
        ip = f"{pfx}.{(r >> 8) % 254 + 1}"
    geo = {
        "city": city,
        "state": state,
        "country": country,
        "postalCode": postal,
        "geolocation": {"lat": lat, "lon": lon},
    }
    sec = {"asNumber": asn, "asOrg": as_org, "isp": isp, "domain": domain, "isProxy": asn == 60729}
    actor = {
        "id": ip,
        "type": "IP address",
        "alternateId": "unknown",
        "displayName": ip,
        "detailEntry": None,
    }
    return actor, make_loc(ip, geo, sec)


def threat(ms: int, s: Sess, r: int, x: int) -> dict[str, Any]:
    """``security.threat.detected``: ThreatInsight flagged a password-spraying IP."""
    actor, loc = attacker(x)
    deny = x & 0x3000000 != 0
    debug = {
        "threatDetections": '{"Password Spray":"HIGH","Login Failures":"MEDIUM"}',
        "threatSuspected": "true",
        "requestUri": "/idp/idx/identify",
        "url": "/idp/idx/identify?",
    }
    return event(
        ms,
        r,
        Sess(actor, BOT_UA, loc, None),
        "security.threat.detected",
        "security.threat.detected",
        "Request from suspicious actor",
        "DENY" if deny else "ALLOW",
        "Password Spray, Login Failures",
        "WARN",
        debug,
        None,
    )


def rate_limit(ms: int, s: Sess, r: int, violation: bool) -> dict[str, Any]:
    """The org's log collector (an admin's API token) nearing or over the logs rate limit."""
    uid = s.actor["id"]
    debug = {
        "threshold": "120",
        "timeSpan": "1",
        "timeUnit": "MINUTES",
        "userId": uid,
        "requestUri": "/api/v1/logs",
        "threatSuspected": "false",
        "url": "/api/v1/logs?limit=1000",
    }
    if not violation:
        debug["warningPercent"] = "60"
    target = [
        {
            "id": "/api/v1/logs",
            "type": "URL Pattern",
            "alternateId": None,
            "displayName": None,
            "detailEntry": None,
        }
    ]
    api = Sess(s.actor, API_UA, s.loc, s.sid)
    if violation:
        return event(
            ms,
            r,
            api,
            "system.org.rate_limit.violation",
            "core.framework.ratelimit.exceeded",
            "Rate limit violation",
            "SUCCESS",
            None,
            "WARN",
            debug,
            target,
        )
    return event(
        ms,
        r,
        api,
        "system.org.rate_limit.warning",
        "core.framework.ratelimit.warning",
        "Rate limit warning",
        "SUCCESS",
        None,
        "WARN",
        debug,
        target,
    )
