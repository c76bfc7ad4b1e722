"""The daily routine: which events each person (and the org) produces on one day.

Each (person, local day) and each org-wide UTC day draws from its own random generator,
seeded from ``(seed, person, day)``: a day's events never depend on the window asked for, so
generating two adjacent windows gives exactly the events of one window spanning both.

A scheduled event is a tuple ``(ms, tie, builder, sess, r, x)``; ``(ms, tie)`` is unique and
orders events, the rest is what :mod:`gen_events` needs to build the dict later.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from opencasb.sandbox.okta import gen_admin as adm
from opencasb.sandbox.okta import gen_events as ge
from opencasb.sandbox.okta.gen_context import Loc, OrgT, PersonT, geo, isp_security, make_loc
from opencasb.sandbox.okta.gen_directory import K_NEWHIRE
from opencasb.sandbox.okta.gen_ids import mix, okta_id, session_id
from opencasb.sandbox.org import is_holiday
from opencasb.sandbox.org.leave import leave_edge, on_leave
from opencasb.sandbox.org.people import FIRST_NAMES, LAST_NAMES
from opencasb.sandbox.org.trips import travel_day, trip_city

__all__ = ["UNIX_EPOCH_ORDINAL", "Planner", "Spec"]

Spec = tuple[int, int, ge.Builder, ge.Sess, int, Any]
_Ev = tuple[int, ge.Builder, ge.Sess, Any]

UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_MS = 86_400_000
_MIN = 60_000
_INACTIVE = frozenset({"SUSPENDED", "DEPROVISIONED", "PROVISIONED", "STAGED"})
# (action, weight, roles allowed to do it)
_ACTIONS: tuple[tuple[str, float, frozenset[str]], ...] = (
    ("create", 0.15, frozenset({"SUPER_ADMIN", "ORG_ADMIN"})),
    # no "suspend": a working person is only suspended for a leave (sandbox/org/leave.py)
    ("group_add", 0.25, frozenset({"SUPER_ADMIN", "ORG_ADMIN"})),
    ("group_remove", 0.12, frozenset({"SUPER_ADMIN", "ORG_ADMIN"})),
    ("app_add", 0.2, frozenset({"SUPER_ADMIN", "ORG_ADMIN", "APP_ADMIN"})),
    ("reset_factors", 0.1, frozenset({"SUPER_ADMIN", "ORG_ADMIN", "HELP_DESK_ADMIN"})),
    ("policy_rule", 0.04, frozenset({"SUPER_ADMIN", "ORG_ADMIN"})),
    ("zone", 0.03, frozenset({"SUPER_ADMIN", "ORG_ADMIN"})),
    ("grant", 0.02, frozenset({"SUPER_ADMIN"})),
)


class Planner:
    """Schedules the events of one org; holds caches that only depend on the org."""

    def __init__(self, ot: OrgT, seed: int) -> None:
        self.ot = ot
        self.seed = seed
        self._offsets: dict[tuple[str, int], int] = {}
        self._holidays: dict[tuple[str, int], bool] = {}
        self._zones = {name: zid for zid, name in ot.d.zones}
        self._groups = [
            {
                "id": ot.d.group_ids[i],
                "type": "UserGroup",
                "alternateId": "unknown",
                "displayName": g.name,
                "detailEntry": None,
            }
            for i, g in enumerate(ot.org.groups)
        ]
        self._auth_server = okta_id("aus", seed, K_NEWHIRE, 0, ot.d.suffix)

    # --- calendars ------------------------------------------------------------------------
    def midnight(self, tz: str, day: int) -> int:
        """Unix ms of local midnight starting ``day`` (an ordinal) in ``tz``."""
        key = (tz, day)
        off = self._offsets.get(key)
        if off is None:
            d = date.fromordinal(day)
            noon = datetime(d.year, d.month, d.day, 12, tzinfo=ZoneInfo(tz))
            delta = noon.utcoffset()
            off = self._offsets[key] = int(delta.total_seconds() * 1000) if delta else 0
        return (day - UNIX_EPOCH_ORDINAL) * DAY_MS - off

    def holiday(self, country: str, day: int) -> bool:
        key = (country, day)
        h = self._holidays.get(key)
        if h is None:
            h = self._holidays[key] = is_holiday(country, date.fromordinal(day))
        return h

    # --- people ---------------------------------------------------------------------------
    def person_day(self, pt: PersonT, day: int, out: list[Spec]) -> None:
        """Append the events of ``pt`` on local day ``day`` (an ordinal) to ``out``."""
        p = pt.person
        if day < pt.created_day or pt.status in _INACTIVE:
            return
        edge = leave_edge(self.seed, p.index, day)
        if edge is not None:
            self._leave_edge(pt, day, edge, out)
        if on_leave(self.seed, p.index, day):
            return
        rng = random.Random(mix(self.seed, p.index, day))
        rnd = rng.random
        working = (day - 1) % 7 < 5 and not self.holiday(p.city.country, day)
        trip = trip_city(self.seed, p, day)  # the same trips in every app
        if travel_day(self.seed, p, day):
            # flying out or home: nothing on the way, so that a trip's sign-ins are never
            # faster apart than a flight (everyday activity is benign by construction)
            return
        base = self.midnight(trip.tz if trip else p.city.tz, day)
        ev: list[_Ev] = []
        if pt.status == "LOCKED_OUT":
            if working and rnd() < 0.3:
                s = ge.Sess(pt.actor, pt.devices[0], pt.home, None, pt)
                t = base + p.work_start * _MIN + rng.randrange(3_600_000)
                for k in range(1 + rng.randrange(3)):
                    ev.append(
                        (t + k * rng.randrange(5000, 90_000), ge.session_start, s, "LOCKED_OUT")
                    )
            self._flush(pt, day, ev, rng, out)
            return
        if trip is not None:
            isp, net = trip.nets[(mix(p.index, day) >> 3) % len(trip.nets)]
            h = mix(self.seed, p.index, day, 0x4073)
            ip = f"{net}.{h % 254 + 1}.{(h >> 8) % 254 + 1}"
            away: Loc = make_loc(ip, geo(trip), isp_security(isp))
        vpn = self.ot.vpn[p.index % len(self.ot.vpn)]
        if working:
            if rnd() < 0.04:  # a day off
                return
            new_place = False
            if trip is not None:
                loc, new_place = (vpn, False) if p.uses_vpn and rnd() < 0.5 else (away, True)
            elif pt.office is not None and rnd() < p.office_days:
                loc = pt.office
            elif p.uses_vpn and rnd() < 0.6:
                loc = vpn
            else:
                loc = pt.home
            self._workday(pt, day, base, loc, new_place, rng, ev)
        else:
            if rnd() >= 0.08:
                return
            loc = away if trip is not None else pt.home
            dev = pt.devices[-1] if rnd() < 0.6 else pt.devices[0]
            s = ge.Sess(pt.actor, dev, loc, session_id("idx", rng.getrandbits(132)), pt)
            t = self._signin(
                ev, rng, s, base + rng.randrange(9 * 60, 22 * 60) * _MIN, trip is not None
            )
            for i in range(min(2, len(pt.apps))):
                if rnd() < 0.5:
                    ev.append((t + rng.randrange(5000, 1_800_000), ge.sso, s, i))
        self._flush(pt, day, ev, rng, out)

    def _leave_edge(self, pt: PersonT, day: int, edge: str, out: list[Spec]) -> None:
        """An administrator suspends ``pt`` in the small hours of a leave's first day (after
        the evening before) or unsuspends them before the first working day back."""
        rng = random.Random(mix(self.seed, pt.person.index, day, 0x1EAFE))
        idx = pt.person.index
        admins = [
            i
            for i in (self.ot.super_admins or self.ot.admins)
            if i != idx and not any(on_leave(self.seed, i, d) for d in (day - 1, day, day + 1))
        ]
        if not admins:
            return
        a = self.ot.people[admins[rng.randrange(len(admins))]]
        s = ge.Sess(
            a.actor, a.devices[0], self.ot.vpn[0], session_id("idx", rng.getrandbits(132)), a
        )
        hour = 2 if edge == "start" else 5
        t = self.midnight(pt.person.city.tz, day) + (hour * 60 + rng.randrange(60)) * _MIN
        u = pt.user_target
        action = "suspend" if edge == "start" else "unsuspend"
        tie = (pt.person.index << 24) | ((day & 0xFFF) << 12) | 0xFFF  # after the day's own
        args = {"target": [u], "path": {"u": u["id"]}}
        out.append((t, tie, adm.admin_action, s, rng.getrandbits(64), (action, args)))

    def _flush(
        self, pt: PersonT, day: int, ev: list[_Ev], rng: random.Random, out: list[Spec]
    ) -> None:
        tie = (pt.person.index << 24) | ((day & 0xFFF) << 12)
        bits = rng.getrandbits
        for k, (ms, b, s, x) in enumerate(ev):
            out.append((ms, tie + k, b, s, bits(64), x))

    def _signin(
        self,
        ev: list[_Ev],
        rng: random.Random,
        s: ge.Sess,
        t: int,
        new_place: bool,
        challenge: bool = True,
    ) -> int:
        """Policy evaluation, MFA when challenged, then the session; returns the end time."""
        if s.loc.trusted:
            challenge = False
        ev.append(
            (
                t,
                ge.policy_evaluate,
                s,
                ("CHALLENGE" if challenge else "ALLOW", new_place, self.ot.policy_target),
            )
        )
        t += 300 + int(rng.random() * (2500 - 300))
        if challenge:
            if new_place or rng.random() < 0.2:
                t += 1500 + int(rng.random() * (6000 - 1500))
                ev.append((t, ge.verify, s, new_place))
            factor = 0 if rng.random() < 0.75 else 1
            t += 3000 + int(rng.random() * (20_000 - 3000))
            if rng.random() < 0.03:
                ev.append((t, ge.mfa, s, (factor, False)))
                t += 10_000 + int(rng.random() * (45_000 - 10_000))
            ev.append((t, ge.mfa, s, (factor, True)))
            t += 100 + int(rng.random() * (900 - 100))
        ev.append((t, ge.session_start, s, None))
        return t

    def _workday(
        self,
        pt: PersonT,
        day: int,
        base: int,
        loc: Loc,
        new_place: bool,
        rng: random.Random,
        ev: list[_Ev],
    ) -> None:
        p = pt.person
        rnd = rng.random
        t = base + (p.work_start + rng.randrange(-20, 40)) * _MIN + int(rng.random() * _MIN)
        end = base + (p.work_end + rng.randrange(-30, 60)) * _MIN
        s = ge.Sess(pt.actor, pt.devices[0], loc, session_id("idx", rng.getrandbits(132)), pt)
        if rnd() < 0.035:
            failed = ge.Sess(pt.actor, pt.devices[0], loc, None, pt)
            ev.append(
                (
                    t - 8000 + int(rng.random() * (60_000 - 8000)),
                    ge.session_start,
                    failed,
                    "INVALID_CREDENTIALS",
                )
            )
        t = self._signin(ev, rng, s, t, new_place)
        span = max(end - t - 5000, 60_000)
        sso = ge.sso
        for i, use, again, dev_tool in pt.usage:
            if rnd() < use:
                ev.append((t + 5000 + int(rnd() * span), sso, s, i))
                if rnd() < again:
                    ev.append((t + 5000 + int(rnd() * span), sso, s, i))
                if dev_tool and rnd() < 0.25:
                    ev.append(
                        (t + 5000 + int(rnd() * span), ge.token_grant, s, (i, self._auth_server))
                    )
        if p.is_admin and rnd() < 0.35:
            self._admin_work(pt, day, s, t + int(rnd() * span * 0.5), end, rng, ev)
        if rnd() < 1 / 90:
            ev.append((t + int(rnd() * span), ge.update_password, s, None))
        if rnd() < 1 / 300:
            ev.append((t + int(rnd() * span), ge.factor_activate, s, int(rng.random() * 2)))
        if rnd() < 0.45:
            ev.append((end + int(rng.random() * 1_200_000), ge.session_end, s, None))
        if len(pt.devices) > 1 and rnd() < 0.25:  # a look at the phone during the day
            m = ge.Sess(pt.actor, pt.devices[1], loc, session_id("idx", rng.getrandbits(132)), pt)
            t2 = self._signin(ev, rng, m, t + int(rnd() * span), False, challenge=False)
            for i in range(1 + int(rng.random() * 2)):
                ev.append(
                    (t2 + 2000 + int(rng.random() * (600_000 - 2000)), ge.sso, m, i % len(pt.apps))
                )
        if rnd() < 0.1:  # after-hours check-in from home
            dev = pt.devices[rng.randrange(len(pt.devices))]
            e = ge.Sess(
                pt.actor,
                dev,
                pt.home if not new_place else loc,
                session_id("idx", rng.getrandbits(132)),
                pt,
            )
            t3 = self._signin(
                ev, rng, e, base + rng.randrange(19 * 60, 22 * 60 + 30) * _MIN, new_place
            )
            ev.append(
                (
                    t3 + 2000 + int(rng.random() * (300_000 - 2000)),
                    ge.sso,
                    e,
                    rng.randrange(len(pt.apps)),
                )
            )

    def _admin_work(
        self, pt: PersonT, day: int, s: ge.Sess, t: int, end: int, rng: random.Random, ev: list[_Ev]
    ) -> None:
        roles = frozenset(pt.person.admin_roles)
        ev.append((t, ge.access_admin_app, s, None))
        allowed = [(a, w) for a, w, who in _ACTIONS if who & roles]
        if not allowed:
            return
        names, weights = [a for a, _ in allowed], [w for _, w in allowed]
        for _ in range(1 + rng.randrange(3)):
            t += rng.randrange(20_000, 600_000)
            action = rng.choices(names, weights)[0]
            for act, args in self._admin_args(action, day, rng):
                ev.append((t, adm.admin_action, s, (act, args)))
                t += rng.randrange(300, 3000)

    def _admin_args(
        self, action: str, day: int, rng: random.Random
    ) -> list[tuple[str, dict[str, Any]]]:
        ot = self.ot
        q = ot.people[rng.randrange(len(ot.people))]
        u = q.user_target
        if action == "create":
            h = mix(self.seed, day, rng.getrandbits(32))
            first, last = FIRST_NAMES[h % len(FIRST_NAMES)], LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
            login = (
                f"{first}.{last}{h % 90 + 10}@{ot.org.domain}".lower()
                .replace(" ", "")
                .replace("'", "")
            )
            nid = okta_id("00u", self.seed, K_NEWHIRE, h, ot.d.suffix)
            new = {
                "id": nid,
                "type": "User",
                "alternateId": login,
                "displayName": f"{first} {last}",
                "detailEntry": None,
            }
            return [
                ("create", {"target": [new]}),
                ("activate", {"target": [new], "path": {"u": nid}}),
            ]
        if action == "group_add" or action == "group_remove":
            gi = 1 + rng.randrange(len(self._groups) - 1)
            g = self._groups[gi]
            return [(action, {"target": [u, g], "path": {"u": u["id"], "g": g["id"]}})]
        if action == "app_add":
            i = rng.randrange(len(q.apps))
            app = q.apps[i]
            target = [q.app_users[i], app.instance, u]
            return [
                (action, {"target": target, "path": {"a": app.instance["id"]}, "appname": app.key})
            ]
        if action == "grant":
            role = rng.choice(("ORG_ADMIN", "APP_ADMIN", "HELP_DESK_ADMIN", "READ_ONLY_ADMIN"))
            return [
                (
                    action,
                    {"target": [u, *adm.role_targets(role)], "path": {"u": u["id"]}, "role": role},
                )
            ]
        if action == "policy_rule":
            pol, rule = ot.d.mfa_policy if rng.random() < 0.5 else ot.d.sign_on_policy
            target = [
                {
                    "id": pol,
                    "type": "PolicyEntity",
                    "alternateId": "unknown",
                    "displayName": "Default Policy",
                    "detailEntry": {"policyType": "OktaSignOn"},
                },
                {
                    "id": rule,
                    "type": "PolicyRule",
                    "alternateId": pol,
                    "displayName": "Default Rule",
                    "detailEntry": None,
                },
            ]
            return [(action, {"target": target, "path": {"p": pol, "r": rule}})]
        if action == "zone":
            zid, name = ot.d.zones[2 + rng.randrange(2)]
            z = {
                "id": zid,
                "type": "NetworkZoneEntity",
                "alternateId": "unknown",
                "displayName": name,
                "detailEntry": None,
            }
            return [(action, {"target": [z], "path": {"z": zid}})]
        return [(action, {"target": [u], "path": {"u": u["id"]}})]

    # --- the org --------------------------------------------------------------------------
    def org_day(self, day: int, out: list[Spec]) -> None:
        """Append the org-wide events of UTC day ``day``: threats, rate limits, API tokens."""
        ot = self.ot
        rng = random.Random(mix(self.seed, 0xD00D, day))
        base = (day - UNIX_EPOCH_ORDINAL) * DAY_MS
        ev: list[_Ev] = []
        quiet = ge.Sess({}, adm.BOT_UA, ot.vpn[0], None)
        for _ in range(rng.randrange(3 + ot.org.size // 1000)):
            ev.append((base + rng.randrange(DAY_MS), adm.threat, quiet, rng.getrandbits(64)))
        if ot.super_admins:
            pt = ot.people[ot.super_admins[rng.randrange(len(ot.super_admins))]]
            s = ge.Sess(
                pt.actor, pt.devices[0], ot.vpn[0], session_id("trs", rng.getrandbits(132)), pt
            )
            if rng.random() < 0.25:
                t = base + rng.randrange(DAY_MS)
                ev.append((t, adm.rate_limit, s, False))
                if rng.random() < 0.3:
                    ev.append((t + rng.randrange(5000, 50_000), adm.rate_limit, s, True))
            for action in ("token_create", "token_revoke"):
                if rng.random() < 0.03:
                    n = rng.getrandbits(32)
                    tok = {
                        "id": okta_id("00T", self.seed, K_NEWHIRE, n, ot.d.suffix),
                        "type": "Token",
                        "alternateId": "unknown",
                        "displayName": f"log-collector-{n % 1000}",
                        "detailEntry": None,
                    }
                    ev.append(
                        (
                            base + rng.randrange(DAY_MS),
                            adm.admin_action,
                            s,
                            (action, {"target": [tok], "path": {"t": tok["id"]}}),
                        )
                    )
        tie = ((ot.org.size + 1) << 24) | ((day & 0xFFF) << 12)
        for k, (ms, b, s2, x) in enumerate(ev):
            out.append((ms, tie + k, b, s2, rng.getrandbits(64), x))
