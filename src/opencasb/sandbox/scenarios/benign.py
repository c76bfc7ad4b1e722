"""Benign look-alikes: activity that resembles an attack but is legitimate. Each must *not*
raise an alert (``expected_detection`` is ``"none"``).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from opencasb.sandbox.office365 import gen_aad as aad
from opencasb.sandbox.office365 import gen_files as gf
from opencasb.sandbox.okta import gen_events as ge
from opencasb.sandbox.org import CITIES
from opencasb.sandbox.org.trips import travel_day, trip_city

from .kit import Kit, Recorder, city_loc, distance_km
from .model import Injection

__all__ = ["admin_bulk_export", "real_travel", "vpn_egress_abroad"]

_MIN = 60_000
_CRUISE_KMH = 800


def real_travel(kit: Kit) -> Injection:
    """A sign-in at home in the morning, a flight (at least the flying time, plus the
    airports) and sign-ins from the destination on arrival, in Okta and Office 365.

    The flight is the first day of a trip abroad the everyday generators give the person
    (:mod:`opencasb.sandbox.org.trips`): a travel day, on which they generate nothing else for
    the person (who is at the destination from the next day), so the person is never in two
    places at once. When no traveller's trip starts in the window (a small organisation),
    any traveller and destination are used, and the person's everyday activity that day may
    contradict the flight."""
    rec = Recorder(kit, "benign_real_travel", "benign", "none")
    # to a country where colleagues live, as business trips go (a first visit of the whole
    # organisation to a country is what the infrequent-country detection is for)
    residents = Counter(p.city.country for p in kit.org.people)
    trips = [
        (v, d, trip)
        for d in kit.any_days(timedelta(hours=50))  # a flight: any day of the week
        for v in kit.eligible
        if v.index not in kit.used
        and travel_day(kit.seed, v.okta.person, d)
        and (trip := trip_city(kit.seed, v.okta.person, d)) is not None
        and trip_city(kit.seed, v.okta.person, d - 1) is None  # the flight out
        and trip.country != v.okta.person.city.country
    ]
    if trips:  # preferably where several colleagues live
        best = max(min(residents[t.country], 3) for _, _, t in trips)
        trips = [x for x in trips if min(residents[x[2].country], 3) == best]
        v, day, dest = trips[rec.rng.randrange(len(trips))]
        kit.used.add(v.index)
    else:
        v = kit.victim(rec.rng, lambda x: x.okta.person.travels)
        day = kit.day(rec.rng)
        p = v.okta.person
        dests = [c for c in CITIES if c.country != p.city.country
                 and 1500 < distance_km(p.city.lat, p.city.lon, c.lat, c.lon) < 9000]  # fmt: skip
        dest = (dests or [c for c in CITIES if c is not p.city])[rec.rng.randrange(len(dests) or 1)]
    p = v.okta.person
    km = distance_km(p.city.lat, p.city.lon, dest.lat, dest.lon)
    flight_ms = int(km / _CRUISE_KMH * 3_600_000) + 60 * _MIN
    t = kit.local(p.city, day, 6 * 60 + rec.rng.randrange(60)) * 1000
    home = rec.okta_sess(v, v.okta.home, device=1)
    t = rec.sign_in(t, home, False)
    rec.okta(t + rec.rng.randrange(5_000, 300_000), ge.sso, home, 0)
    rec.o365(t // 1000 + 40, aad.SIGN_IN, rec.o365_sess(v, v.o365.home, device=1), (4, 0))
    t2 = t + flight_ms + rec.randint_ms(90, 180)  # leave for the airport, land, get out
    loc = city_loc(dest, rec.bits())
    away = rec.okta_sess(v, loc, device=1)
    t2 = rec.sign_in(t2, away, True)
    rec.okta(t2 + rec.rng.randrange(5_000, 300_000), ge.sso, away, 0)
    rec.o365(t2 // 1000 + 60, aad.SIGN_IN, rec.o365_sess(v, loc.ip, device=1), (4, 0))
    rec.details.update(
        to_city=dest.name, to_country=dest.country, km=str(round(km)),
        flight_minutes=str(flight_ms // _MIN),
    )  # fmt: skip
    return rec.finish(v.email)


def vpn_egress_abroad(kit: Kit) -> Injection:
    """A VPN user whose sessions come from the corporate VPN's egress, which sits in
    another country than the person (the org's VPN ranges)."""
    rec = Recorder(kit, "benign_vpn_egress", "benign", "none")
    vpn_country = kit.org.vpn_city.country
    v = kit.victim(
        rec.rng, lambda x: x.okta.person.uses_vpn and x.okta.person.city.country != vpn_country
    )
    p = v.okta.person
    day = kit.day(rec.rng)
    loc = kit.ot.vpn[rec.rng.randrange(len(kit.ot.vpn))]
    s = rec.okta_sess(v, loc)
    t = rec.sign_in(kit.local(p.city, day, p.work_start + rec.rng.randrange(30)) * 1000, s, False)
    for k in range(min(3, len(v.okta.apps))):
        rec.okta(t + rec.rng.randrange(10_000, 3_600_000), ge.sso, s, k)
    rec.o365(t // 1000 + 120, aad.SIGN_IN, rec.o365_sess(v, loc.ip), (0, 0))
    rec.details.update(vpn_ip=loc.ip, vpn_country=vpn_country, home_country=p.city.country)
    return rec.finish(v.email)


def admin_bulk_export(kit: Kit) -> Injection:
    """An admin, from the office (or VPN) in working hours, downloads a department site's
    documents for an export, about as many files as a mass download."""
    rec = Recorder(kit, "benign_admin_bulk_export", "benign", "none")
    v = kit.victim(rec.rng, lambda x: x.o365.person.is_admin)
    p = v.o365.person
    day = kit.day(rec.rng)
    ip = v.o365.office or v.o365.vpn
    ts = kit.local(p.city, day, p.work_start + 60 + rec.rng.randrange(120))
    sess = rec.o365_sess(v, ip)
    rec.o365(ts, aad.SIGN_IN, sess, (0, 0))
    sites = [d.site for d in kit.tt.depts]
    rec.rng.shuffle(sites)
    n = 0
    for site in sites[:2]:
        for k in range(len(site.files)):
            ts += rec.rng.randrange(2, 15)
            rec.o365(ts, gf.FILE_OP, sess, (2, site, k))
            n += 1
    rec.details["files"] = str(n)
    return rec.finish(v.email)
