"""What every scenario builder uses: the org's Okta and Office 365 templates, the window's
usable days, victims, places, and a :class:`Recorder` that turns planned events into records.

Everything is a pure function of ``(org, seed, window days, scenario name)``: each scenario
draws from its own random generator, so adding or reordering scenarios never changes
another scenario's records.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opencasb.sandbox.office365 import gen_core as oc
from opencasb.sandbox.office365.gen_publish import Ev, Spec, schedule
from opencasb.sandbox.office365.gen_tenant import PersonT as O365Person
from opencasb.sandbox.office365.gen_tenant import TenantT, build_tenant
from opencasb.sandbox.office365.generate import tenant_for
from opencasb.sandbox.okta import gen_events as ge
from opencasb.sandbox.okta.gen_context import Loc, OrgT, build_templates, geo, make_loc
from opencasb.sandbox.okta.gen_context import PersonT as OktaPerson
from opencasb.sandbox.okta.gen_directory import directory
from opencasb.sandbox.okta.gen_ids import mix, session_id
from opencasb.sandbox.org import City, Organisation
from opencasb.sandbox.org.leave import on_leave

from .model import GroundTruth, Injection, Kind

__all__ = ["FOREIGN", "Foreign", "Kit", "Recorder", "Victim", "distance_km"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = 3600
# A scenario's records all lie in [local midnight of its day, + 40 h] and are published at
# most ~10.5 h later; local midnight is within 14 h of the UTC one.
_BEFORE = timedelta(hours=15)
_AFTER = timedelta(hours=14 + 40 + 11)


@dataclass(frozen=True)
class Foreign:
    """A place none of the org's people live in, with a network there."""

    city: str
    state: str
    country: str  # ISO code
    country_name: str
    postal: str
    lat: float
    lon: float
    net: str  # "a.b" or "a.b.c": the /16 or /24 addresses are drawn from
    asn: int
    isp: str
    domain: str


FOREIGN: tuple[Foreign, ...] = (
    Foreign("Lagos", "Lagos", "NG", "Nigeria", "100001", 6.4541, 3.3947, "102.89", 29465,
            "mtn nigeria", "mtnnigeria.net"),
    Foreign("Ho Chi Minh City", "Ho Chi Minh", "VN", "Vietnam", "700000", 10.8231, 106.6297,
            "171.224", 7552, "viettel group", "viettel.vn"),
    Foreign("Sao Paulo", "Sao Paulo", "BR", "Brazil", "01000-000", -23.5505, -46.6333,
            "177.79", 28573, "claro nxt telecomunicacoes ltda", "claro.com.br"),
    Foreign("Moscow", "Moscow", "RU", "Russia", "101000", 55.7558, 37.6173, "95.165", 12389,
            "rostelecom", "rt.ru"),
    Foreign("Jakarta", "Jakarta", "ID", "Indonesia", "10110", -6.2088, 106.8456, "36.69", 7713,
            "pt telekomunikasi indonesia", "telkom.co.id"),
    Foreign("Bucharest", "Bucuresti", "RO", "Romania", "010011", 44.4268, 26.1025, "86.120",
            8708, "rcs & rds sa", "rcs-rds.ro"),
)  # fmt: skip
# A Tor exit relay network (as the System Log shows Tor: isProxy true): a real /24 of Tor
# exits, listed in the demo's Tor list (opencasb/sandbox/data/demo-tor.txt).
TOR = Foreign("Berlin", "Land Berlin", "DE", "Germany", "10117", 52.517, 13.3889,
              "185.220.102", 60729, "stiftung erneuerbare freiheit", "torproject.org")  # fmt: skip


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12_742 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Victim:
    """One person as both generators see them (same index)."""

    okta: OktaPerson
    o365: O365Person

    @property
    def email(self) -> str:
        return self.okta.person.email

    @property
    def index(self) -> int:
        return self.okta.person.index


class Kit:
    """The org's templates and the window, shared by every scenario of one plan."""

    def __init__(self, org: Organisation, start: datetime, end: datetime, seed: int) -> None:
        self.org, self.seed = org, seed
        self.ot: OrgT = build_templates(org, directory(org))
        self.tt: TenantT = build_tenant(org, tenant_for(org))
        self.start, self.end = start, end
        self.days = self._days(start, end)
        if not self.days:
            raise ValueError(
                f"window {start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} is too short for "
                "scenarios: it needs at least 4 days"
            )
        first = min(self.days)
        self.eligible = [
            Victim(o, t)
            for o, t in zip(self.ot.people, self.tt.people, strict=True)
            if o.status == "ACTIVE"
            and t.enabled
            and o.person.kind != "guest"
            and o.created_day < first - 30
            and not any(
                on_leave(seed, o.person.index, d) for d in range(first - 1, max(self.days) + 3)
            )
        ]
        self.used: set[int] = set()

    def _days(self, start: datetime, end: datetime) -> list[int]:
        """Day ordinals whose scenarios fit the window, working days (Mon-Fri) if any."""
        d0 = (start + _BEFORE).date().toordinal() + 1
        out = [
            d
            for d in range(d0, end.date().toordinal())
            if datetime.combine(date.fromordinal(d), datetime.min.time(), UTC) + _AFTER <= end
            and date.fromordinal(d) > start.date()
        ]
        working = [d for d in out if date.fromordinal(d).weekday() < 5]
        return working or out

    def any_days(self, span: timedelta) -> list[int]:
        """Day ordinals strictly inside the window, weekends too, whose records fit in
        ``span`` from the day's UTC midnight (plus 14 h for the time zone) before the end."""
        first = (self.start + _BEFORE).date().toordinal() + 1
        return [
            d
            for d in range(first, self.end.date().toordinal())
            if datetime.combine(date.fromordinal(d), datetime.min.time(), UTC)
            + span
            + timedelta(hours=14)
            <= self.end
        ]

    def rng(self, name: str) -> random.Random:
        """The random generator of scenario ``name``."""
        return random.Random(mix(self.seed, zlib.crc32(name.encode()), 0x5CE4A210))

    def day(self, rng: random.Random) -> int:
        """A usable day (a working day when the window has one)."""
        return self.days[rng.randrange(len(self.days))]

    def victim(self, rng: random.Random, want: Callable[[Victim], bool] | None = None) -> Victim:
        """An unused active person (matching ``want`` when anyone does)."""
        pool = [v for v in self.eligible if v.index not in self.used]
        fits = [v for v in pool if want is None or want(v)] or pool or self.eligible
        v = fits[rng.randrange(len(fits))]
        self.used.add(v.index)
        return v

    def local(self, city: City, day: int, minutes: float) -> int:
        """Unix seconds of ``minutes`` after local midnight of ``day`` in ``city``."""
        d = date.fromordinal(day)
        delta = datetime(d.year, d.month, d.day, 12, tzinfo=ZoneInfo(city.tz)).utcoffset()
        off = int(delta.total_seconds()) if delta else 0
        return (
            int((datetime(d.year, d.month, d.day, tzinfo=UTC) - _EPOCH).total_seconds())
            - off
            + int(minutes * 60)
        )

    def farthest(self, lat: float, lon: float, exclude: str = "") -> Foreign:
        """The foreign place farthest from ``(lat, lon)``."""
        return max(
            (f for f in FOREIGN if f.country != exclude),
            key=lambda f: distance_km(lat, lon, f.lat, f.lon),
        )


def foreign_loc(f: Foreign, r: int, proxy: bool = False) -> Loc:
    """An Okta location in ``f`` (address from ``r``)."""
    g = {
        "city": f.city,
        "state": f.state,
        "country": f.country_name,
        "postalCode": f.postal,
        "geolocation": {"lat": f.lat, "lon": f.lon},
    }
    sec = {"asNumber": f.asn, "asOrg": f.isp, "isp": f.isp, "domain": f.domain, "isProxy": proxy}
    if f.net.count(".") == 1:  # a /16
        return make_loc(f"{f.net}.{r % 254 + 1}.{(r >> 8) % 254 + 1}", g, sec)
    return make_loc(f"{f.net}.{r % 254 + 1}", g, sec)  # a /24


def city_loc(city: City, r: int) -> Loc:
    """An Okta location on one of ``city``'s consumer networks (as a traveller gets)."""
    from opencasb.sandbox.okta.gen_context import isp_security

    isp, net = city.nets[r % len(city.nets)]
    return make_loc(
        f"{net}.{(r >> 8) % 254 + 1}.{(r >> 16) % 254 + 1}", geo(city), isp_security(isp)
    )


class Recorder:
    """Collects one scenario's planned events and builds them, the generators' way.

    ``okta(ms, builder, sess, x)`` and ``o365(ts, kind, sess, x)`` take the same arguments as
    the generators' schedules; :meth:`finish` draws every event's random bits from the
    scenario's generator, builds the records (Office 365 ones published 30 min to hours
    later, a few twice, through the generator's own ``schedule``) and the ground truth.
    """

    def __init__(self, kit: Kit, name: str, kind: Kind, expected: str) -> None:
        self.kit, self.name, self.kind, self.expected = kit, name, kind, expected
        self.rng = kit.rng(name)
        self._okta: list[tuple[int, ge.Builder, ge.Sess, Any]] = []
        self._o365: list[Ev] = []
        self.details: dict[str, str] = {}

    def bits(self, n: int = 64) -> int:
        return self.rng.getrandbits(n)

    def randint_ms(self, lo_minutes: int, hi_minutes: int) -> int:
        """A random span of ``lo_minutes`` to ``hi_minutes`` minutes, in milliseconds."""
        return self.rng.randrange(lo_minutes * 60_000, hi_minutes * 60_000)

    def okta_sess(self, v: Victim, loc: Loc, device: int = 0) -> ge.Sess:
        o = v.okta
        return ge.Sess(o.actor, o.devices[device % len(o.devices)], loc,
                       session_id("idx", self.bits(132)), o)  # fmt: skip

    def o365_sess(self, v: Victim, ip: str, device: int = 0) -> oc.Sess:
        t = v.o365
        return oc.Sess(self.kit.tt, t, t.devices[device % len(t.devices)], ip, None, self.bits(128))

    def okta(self, ms: int, builder: ge.Builder, sess: ge.Sess, x: Any) -> None:
        self._okta.append((ms, builder, sess, x))

    def o365(self, ts: int, kind: oc.Kind, sess: oc.Sess, x: Any) -> None:
        self._o365.append((ts, kind, sess, x))

    def sign_in(self, ms: int, s: ge.Sess, new_place: bool, mfa: bool = True) -> int:
        """Policy evaluation, MFA (push) and the session start; returns the session time."""
        rnd = self.rng.random
        from opencasb.sandbox.okta.gen_events import mfa as mfa_event
        from opencasb.sandbox.okta.gen_events import policy_evaluate, session_start, verify

        challenge = mfa and not s.loc.trusted
        decision = "CHALLENGE" if challenge else "ALLOW"
        self.okta(ms, policy_evaluate, s, (decision, new_place, self.kit.ot.policy_target))
        ms += 300 + int(rnd() * 2200)
        if challenge:
            if new_place:
                ms += 1500 + int(rnd() * 4500)
                self.okta(ms, verify, s, new_place)
            ms += 3000 + int(rnd() * 17_000)
            self.okta(ms, mfa_event, s, (0, True))
            ms += 100 + int(rnd() * 800)
        self.okta(ms, session_start, s, None)
        return ms

    def finish(self, victim: str, apps: tuple[str, ...] = ()) -> Injection:
        okta: list[tuple[dict[str, Any], datetime]] = []
        for ms, build, osess, x in sorted(self._okta, key=lambda e: e[0]):
            r = self.bits(64)
            delay = ((r >> 40) & 0xFFFFFF) % 2800 + 200
            okta.append((build(ms, osess, r, x), _EPOCH + timedelta(milliseconds=ms + delay)))
        specs: list[Spec] = []
        schedule(0x7FFF, 0, sorted(self._o365, key=lambda e: e[0]), self.rng, specs)
        o365: list[tuple[dict[str, Any], datetime]] = []
        for _key, pub, ts, kind, sess, x, r in sorted(specs, key=lambda s: s[0]):
            o365.append((kind.build(sess, ts, x, r), _EPOCH + timedelta(seconds=pub)))
        ids: dict[str, None] = {}
        times: list[datetime] = []
        for ev, _ in okta:
            ids[ev["uuid"]] = None
            times.append(datetime.fromisoformat(ev["published"]))
        for rec, _ in o365:
            ids[rec["Id"]] = None
            times.append(datetime.fromisoformat(rec["CreationTime"]).replace(tzinfo=UTC))
        used = tuple(a for a, recs in (("okta", okta), ("office365", o365)) if recs)
        truth = GroundTruth(
            scenario=self.name,
            kind=self.kind,
            victim=victim,
            apps=apps or used,
            activity_ids=tuple(ids),
            start=min(times),
            end=max(times),
            expected_detection=self.expected,
            details=self.details,
        )
        return Injection(okta, o365, truth)


HOUR = _HOUR
__all__ += ["HOUR", "TOR", "city_loc", "foreign_loc"]
