"""Impossible travel and activity from an infrequent country, and the place baselines they use.

Both look only at successful interactive sign-ins (:func:`~.base.is_interactive_signin`)
with a country. :func:`learn_place` updates the baselines *after* the detectors have looked,
so that the sign-in being judged is never part of its own baseline.

Impossible travel suppresses, as the commercial product does (mcas-features.md §3.3):

* always (system): the same or a neighbouring country; a distance that the two places'
  jitter radii (city or, for a country centroid, far wider) can explain; an address tagged
  ``vpn`` on either side (its exit says nothing about where the person is);
* at low and medium: an address tagged ``corporate`` on either side, and travel between two
  countries the user commonly signs in from (user suppression); at high only when both
  sides are corporate;
* at low: travel to countries that several users of the organisation use (organisation
  suppression).
"""

from __future__ import annotations

import dataclasses

from opencasb.detect.anomaly.base import (
    INTERACTIVE_SIGNIN_TYPES,
    UNSET,
    Applies,
    Context,
    is_interactive_signin,
    place_name,
)
from opencasb.detect.anomaly.geo import distance_km, format_km, neighbours
from opencasb.detect.anomaly.settings import Sensitivity
from opencasb.detect.anomaly.state import (
    MAX_COUNTRIES,
    MAX_ORG_COUNTRY_USERS,
    MAX_PLACES,
    Place,
)
from opencasb.detect.anomaly.stays import remember_stay, stay_places
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic

__all__ = ["IMPOSSIBLE_TRAVEL", "INFREQUENT_COUNTRY", "SIGNINS", "impossible_travel",
           "infrequent_country", "learn_place"]  # fmt: skip

IMPOSSIBLE_TRAVEL = "anomaly.impossible_travel"
INFREQUENT_COUNTRY = "anomaly.infrequent_country"
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_APP_NAMES = {"okta": "Okta", "office365": "Office 365"}
SIGNINS = Applies(types=INTERACTIVE_SIGNIN_TYPES)
"""What :func:`impossible_travel`, :func:`infrequent_country` and :func:`learn_place` act on
(and the reputation detectors): interactive sign-ins."""


def _place(ctx: Context) -> Place | None:
    """The sign-in's place, computed once per activity (the detectors only read it; the
    learner then keeps it)."""
    if ctx.place is UNSET:
        ctx.place = _new_place(ctx)
    place: Place | None = ctx.place
    return place


def _new_place(ctx: Context) -> Place | None:
    e = ctx.enrichment
    if not e.country_code or e.lat is None or e.lon is None:
        return None
    return Place(
        t=ctx.t,
        activity_id=ctx.activity_id,
        country=e.country_code.upper(),
        city=e.city,
        lat=round(e.lat, 3),  # ~100 m: far below any jitter radius
        lon=round(e.lon, 3),
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


def _app(app: str) -> str:
    return _APP_NAMES.get(app, app)


def _duration(us: int) -> str:
    minutes = round(us / 60_000_000)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.0f} h"


def impossible_travel(ctx: Context) -> list[Finding]:
    """A successful interactive sign-in too far, for the time between them, from the user's
    sign-in just before it or just after it in event time (a late Office 365 record meets
    its real neighbours). Needs the organisation's learning period to have passed."""
    if ctx.user is None or not is_interactive_signin(ctx.activity):
        return []
    cur = _place(ctx)
    if cur is None or not ctx.learned(ctx.state.org.first):
        return []
    places = ctx.user.places
    if places and cur.t < places[-1].t - _DAY_US:  # days late: the stays hold its neighbours
        known = {p.activity_id for p in places}
        extra = [p for p in stay_places(ctx.user) if p.activity_id not in known]
        places = sorted([*places, *extra], key=lambda p: (p.t, p.activity_id))
    before = [p for p in places if p.t <= cur.t]
    after = [p for p in places if p.t > cur.t]
    pairs = ([(before[-1], cur)] if before else []) + ([(cur, after[0])] if after else [])
    judged = [j for j in (_judge(ctx, a, b, cur) for a, b in pairs) if j is not None]
    if not judged:
        return []
    return [max(judged, key=lambda j: j[0])[1]]


def _judge(ctx: Context, first: Place, then: Place, cur: Place) -> tuple[float, Finding] | None:
    """The finding for travelling from ``first`` to ``then`` (in event time), if impossible
    and not suppressed, with its speed."""
    if first.country == then.country or neighbours(first.country, then.country):
        return None
    s = ctx.settings
    th = s.thresholds
    km = distance_km(first.lat, first.lon, then.lat, then.lon)
    slack = sum(s.coarse_radius_km if p.coarse else s.city_radius_km for p in (first, then))
    effective = km - slack
    if effective < th.travel_min_km:
        return None
    elapsed = then.t - first.t
    hours = max(elapsed, 60_000_000) / _HOUR_US  # a minute at least: same-second pairs
    if effective / hours < th.travel_kmh:
        return None
    tags_a, tags_b = set(first.tags), set(then.tags)
    if "vpn" in tags_a | tags_b:
        return None
    corporate = ("corporate" in tags_a, "corporate" in tags_b)
    if s.sensitivity is Sensitivity.HIGH:
        if all(corporate):
            return None
    elif any(corporate):
        return None
    usual = _usual(ctx)
    novel = [p.country for p in (first, then) if p.country not in usual]
    if s.sensitivity is not Sensitivity.HIGH and not novel:
        return None
    if s.sensitivity is Sensitivity.LOW and all(
        _org_users(ctx, c) >= th.org_country_users for c in novel
    ):
        return None
    other = first if then is cur else then
    here, there = place_name(cur.city, cur.country), place_name(other.city, other.country)
    order = "after" if then is cur else "before"
    vague = (
        " (one place is only known to the country, so allowing for that)"
        if (first.coarse or then.coarse)
        else ""
    )
    if cur.app and other.app and cur.app != other.app:  # cross-app: say which app was where
        here = f"{here} ({_app(cur.app)})"
        there = f"{there} ({_app(other.app)})"
    text = (
        f"{ctx.user_key} signed in from {here} {_duration(elapsed)} {order} {there}: "
        f"{format_km(km)} at {format_km(km / hours)}/h{vague}; "
        f"this user's usual countries: {', '.join(usual) or 'none yet'}"
    )
    ips = tuple(dict.fromkeys(x for x in (ctx.activity.src_ip,) if x))
    found = ctx.finding(
        IMPOSSIBLE_TRAVEL,
        "Impossible travel",
        severity=Severity.MEDIUM if (first.coarse or then.coarse) else Severity.HIGH,
        tactic=Tactic.INITIAL_ACCESS,
        technique="T1078",
        evidence=[(first.t, first.activity_id), (then.t, then.activity_id)],
        explanation=text,
        ips=ips,
    )
    apps = tuple(dict.fromkeys(a for a in (first.app, then.app) if a))
    return km / hours, dataclasses.replace(found, apps=apps or found.apps)


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
    regulars = len([u for u in ctx.state.org.country_regulars.get(code, []) if u != ctx.user_key])
    # low: anyone else of the organisation signed in from there; medium: someone did twice
    # or more (colleagues who live there, travellers), not a one-off (an attacker's sign-in)
    if (s.sensitivity is Sensitivity.LOW and others) or (
        s.sensitivity is Sensitivity.MEDIUM and regulars
    ):
        return []
    usual = _usual(ctx)
    days = (ctx.t - ctx.user.first) // (86_400 * 1_000_000)
    text = (
        f"{ctx.user_key} signed in from {place_name(ctx.enrichment.city, code)}, a country "
        f"not seen for this user in {days} days of history (usual countries: "
        f"{', '.join(usual) or 'none'}); {others} other user(s) of the organisation signed "
        f"in from {code}, {regulars} of them more than once"
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
    n = u.countries.get(code, 0)
    for table, enough in ((ctx.state.org.country_users, 1), (ctx.state.org.country_regulars, 2)):
        if n >= enough:
            users = table.setdefault(code, [])
            if ctx.user_key not in users and len(users) < MAX_ORG_COUNTRY_USERS:
                users.append(ctx.user_key)
    cur = _place(ctx)
    if cur is not None:
        places = [*u.places, cur]
        if len(places) > 1 and (places[-2].t, places[-2].activity_id) > (cur.t, cur.activity_id):
            places.sort(key=lambda p: (p.t, p.activity_id))  # a late one (places are sorted)
        places = places[-MAX_PLACES:]
        # a late record is at most hours late: older places than a day before the newest
        # only matter as the one before it
        newest = places[-1].t
        u.places = [p for p in places[:-1] if newest - p.t <= _DAY_US] or places[-2:-1]
        u.places.append(places[-1])
        remember_stay(u, cur)
