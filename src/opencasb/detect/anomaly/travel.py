"""Impossible travel and activity from an infrequent country, and the place baselines they use.

Both look only at successful interactive sign-ins (:func:`~.base.is_interactive_signin`)
with a country. :func:`learn_place` updates the baselines *after* the detectors have looked,
so that the sign-in being judged is never part of its own baseline.

Impossible travel suppresses, as the commercial product does (mcas-features.md §3.3):

* always (system): the same or a neighbouring country; a distance that the two places'
  jitter radii (city or, for a country centroid, far wider) can explain; an address tagged
  ``vpn`` on either side (its exit says nothing about where the person is);
* at low and medium: an address tagged ``corporate`` on either side, and a country the user
  commonly signs in from (user suppression); at high only when both sides are corporate;
* at low: a country that several users of the organisation commonly use (organisation
  suppression).
"""

from __future__ import annotations

from opencasb.detect.anomaly.base import Context, is_interactive_signin, place_name
from opencasb.detect.anomaly.geo import distance_km, format_km, neighbours
from opencasb.detect.anomaly.settings import Sensitivity
from opencasb.detect.anomaly.state import MAX_COUNTRIES, MAX_ORG_COUNTRY_USERS, Place
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic

__all__ = ["IMPOSSIBLE_TRAVEL", "INFREQUENT_COUNTRY", "impossible_travel", "infrequent_country",
           "learn_place"]  # fmt: skip

IMPOSSIBLE_TRAVEL = "anomaly.impossible_travel"
INFREQUENT_COUNTRY = "anomaly.infrequent_country"
_HOUR_US = 3_600_000_000


def _place(ctx: Context) -> Place | None:
    e = ctx.enrichment
    if not e.country_code or e.lat is None or e.lon is None:
        return None
    return Place(
        t=ctx.t,
        activity_id=ctx.activity_id,
        country=e.country_code.upper(),
        city=e.city,
        lat=e.lat,
        lon=e.lon,
        coarse=e.coarse,
        tags=sorted(e.ip_tags),
        app=ctx.activity.app,
    )


def _usual(ctx: Context) -> list[str]:
    """The user's usual countries, most used first."""
    if ctx.user is None:
        return []
    n = ctx.settings.thresholds.user_country_signins
    ranked = sorted(ctx.user.countries.items(), key=lambda kv: (-kv[1], kv[0]))
    return [c for c, k in ranked if k >= n] or [c for c, _ in ranked[:3]]


def _org_users(ctx: Context, country: str) -> int:
    """Distinct other users of the organisation seen signing in from ``country``."""
    users = ctx.state.org.country_users.get(country, [])
    return len([u for u in users if u != ctx.user_key])


def _duration(us: int) -> str:
    minutes = round(us / 60_000_000)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.0f} h"


def impossible_travel(ctx: Context) -> list[Finding]:
    """A successful interactive sign-in too far from the user's previous one for the time
    between them. Needs the organisation's learning period to have passed."""
    if ctx.user is None or not is_interactive_signin(ctx.activity):
        return []
    prev, cur = ctx.user.last, _place(ctx)
    if prev is None or cur is None or not ctx.learned(ctx.state.org.first):
        return []
    if prev.country == cur.country or neighbours(prev.country, cur.country):
        return []
    s = ctx.settings
    th = s.thresholds
    km = distance_km(prev.lat, prev.lon, cur.lat, cur.lon)
    slack = sum(s.coarse_radius_km if p.coarse else s.city_radius_km for p in (prev, cur))
    effective = km - slack
    if effective < th.travel_min_km:
        return []
    elapsed = abs(cur.t - prev.t)
    hours = max(elapsed, 60_000_000) / _HOUR_US  # a minute at least: same-second pairs
    if effective / hours < th.travel_kmh:
        return []
    tags_prev, tags_cur = set(prev.tags), set(cur.tags)
    if "vpn" in tags_prev | tags_cur:
        return []
    corporate = ("corporate" in tags_prev, "corporate" in tags_cur)
    if s.sensitivity is Sensitivity.HIGH:
        if all(corporate):
            return []
    elif any(corporate):
        return []
    usual = _usual(ctx)
    if s.sensitivity is not Sensitivity.HIGH and cur.country in usual:
        return []
    if s.sensitivity is Sensitivity.LOW and _org_users(ctx, cur.country) >= th.org_country_users:
        return []
    here, there = place_name(cur.city, cur.country), place_name(prev.city, prev.country)
    order = "after" if cur.t >= prev.t else "before"
    vague = (
        " (one place is only known to the country, so allowing for that)"
        if (prev.coarse or cur.coarse)
        else ""
    )
    text = (
        f"{ctx.user_key} signed in from {here} {_duration(elapsed)} {order} {there}: "
        f"{format_km(km)} at {format_km(km / hours)}/h{vague}; "
        f"this user's usual countries: {', '.join(usual) or 'none yet'}"
    )
    ips = tuple(dict.fromkeys(x for x in (ctx.activity.src_ip,) if x))
    return [
        ctx.finding(
            IMPOSSIBLE_TRAVEL,
            "Impossible travel",
            severity=Severity.MEDIUM if (prev.coarse or cur.coarse) else Severity.HIGH,
            tactic=Tactic.INITIAL_ACCESS,
            technique="T1078",
            evidence=[(prev.t, prev.activity_id), (cur.t, cur.activity_id)],
            explanation=text,
            ips=ips,
        )
    ]


def infrequent_country(ctx: Context) -> list[Finding]:
    """A successful interactive sign-in from a country new to the user and uncommon in the
    organisation (at high sensitivity: new to the user). Needs both the user's and the
    organisation's learning periods to have passed; one finding per user and country, since
    the country then joins the user's baseline."""
    if ctx.user is None or not is_interactive_signin(ctx.activity):
        return []
    code = (ctx.enrichment.country_code or "").upper()
    if not code or code in ctx.user.countries:
        return []
    if not (ctx.learned(ctx.user.first) and ctx.learned(ctx.state.org.first)):
        return []
    s = ctx.settings
    others = _org_users(ctx, code)
    limit = {Sensitivity.LOW: 1, Sensitivity.MEDIUM: s.thresholds.org_country_users}
    if s.sensitivity in limit and others >= limit[s.sensitivity]:
        return []
    usual = _usual(ctx)
    days = (ctx.t - ctx.user.first) // (86_400 * 1_000_000)
    text = (
        f"{ctx.user_key} signed in from {place_name(ctx.enrichment.city, code)}, a country "
        f"not seen for this user in {days} days of history (usual countries: "
        f"{', '.join(usual) or 'none'}); {others} other user(s) of the organisation sign in "
        f"from {code}"
    )
    return [
        ctx.finding(
            INFREQUENT_COUNTRY,
            "Activity from an infrequent country",
            severity=Severity.MEDIUM,
            tactic=Tactic.INITIAL_ACCESS,
            technique="T1078",
            evidence=[(ctx.t, ctx.activity_id)],
            explanation=text,
        )
    ]


def learn_place(ctx: Context) -> None:
    """Add a successful interactive sign-in's country and place to the user's and the
    organisation's baselines (bounded)."""
    if ctx.user is None or not is_interactive_signin(ctx.activity):
        return
    code = (ctx.enrichment.country_code or "").upper()
    if not code:
        return
    u = ctx.user
    u.countries[code] = u.countries.get(code, 0) + 1
    if len(u.countries) > MAX_COUNTRIES:
        least = min(u.countries.items(), key=lambda kv: (kv[1], kv[0]))[0]
        del u.countries[least]
    users = ctx.state.org.country_users.setdefault(code, [])
    if ctx.user_key not in users and len(users) < MAX_ORG_COUNTRY_USERS:
        users.append(ctx.user_key)
    cur = _place(ctx)
    if cur is not None and (u.last is None or cur.t >= u.last.t):
        u.last = cur
