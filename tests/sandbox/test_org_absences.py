"""Everyday activity is benign by construction: a suspended person does not work (leaves),
and a traveller is never in two far places faster than a flight (travel days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.sandbox.office365.generate import generate_records, tenant_for
from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.org import build_org
from opencasb.sandbox.org.leave import on_leave

SEED, SIZE = 5, 300
START = datetime(2026, 9, 1, tzinfo=UTC)
END = START + timedelta(days=28)


def _activities() -> list:  # type: ignore[type-arg]
    org = build_org(SEED, SIZE)
    okta = [
        normalize_okta(orjson.loads(orjson.dumps(e))) for e, _ in generate_events(org, START, END)
    ]
    o365 = [normalize_o365(r) for r, _ in generate_records(org, tenant_for(org), START, END)]
    return okta + o365


ACTS = _activities()
ORG = build_org(SEED, SIZE)
BY_EMAIL = {p.email: p for p in ORG.people}


def test_a_suspended_person_does_nothing_until_unsuspended() -> None:
    suspended: dict[str, list[tuple[datetime, str]]] = {}
    for a in ACTS:
        if a.activity_type in ("user.lifecycle.suspend", "user.lifecycle.unsuspend"):
            who = a.targets[0].alternate_id or ""
            suspended.setdefault(who, []).append((a.time, a.activity_type))
    assert suspended, "some leave starts or ends in four weeks of 300 people"
    for who, changes in suspended.items():
        changes.sort()
        for (t0, what), nxt in zip(changes, [*changes[1:], (END, "")], strict=True):
            if what != "user.lifecycle.suspend":
                continue
            own = [a for a in ACTS if (a.actor.email or "").casefold() == who
                   and t0 < a.time < nxt[0]]  # fmt: skip
            assert own == [], f"{who} active while suspended: {own[0].activity_type}"


def test_leaves_are_the_only_suspensions_and_agree_with_the_schedule() -> None:
    for a in ACTS:
        if a.activity_type == "user.lifecycle.suspend":
            p = BY_EMAIL[a.targets[0].alternate_id or ""]
            local = a.time.astimezone(__import__("zoneinfo").ZoneInfo(p.city.tz)).date()
            assert on_leave(SEED, p.index, local.toordinal())
            assert not on_leave(SEED, p.index, local.toordinal() - 1)


def test_a_travellers_sign_ins_are_never_faster_apart_than_a_flight() -> None:
    """Okta's own geolocation of each sign-in of the people who travel: consecutive ones in
    different countries are at most 1,000 km/h apart (the trips have travel days)."""
    from opencasb.detect.anomaly.geo import distance_km

    travellers = {p.email for p in ORG.people if p.travels}
    seen: dict[str, tuple[datetime, float, float, str]] = {}
    trips = 0
    for a in sorted(ACTS, key=lambda a: a.time):
        who = (a.actor.email or "").casefold()
        g = a.geo
        if a.app != "okta" or who not in travellers or g is None or g.lat is None or g.lon is None:
            continue
        if a.activity_type != "user.session.start" or g.country_code is None:
            continue
        if who in seen and seen[who][3] != g.country_code:
            t0, lat, lon, _ = seen[who]
            hours = max((a.time - t0).total_seconds() / 3600, 1 / 60)
            km = distance_km(lat, lon, g.lat, g.lon)
            assert km < 500 or km / hours < 1000, (who, km, hours)
            trips += 1
        seen[who] = (a.time, g.lat, g.lon, g.country_code)
    assert trips > 10
