"""The daily routine: which audit records each person (and the tenant) produces on one day.

Each (person, local day) and each UTC day of the tenant draws from its own random generator
seeded from ``(seed, person, day)``, so a day's records never depend on the window asked for.
Working days follow the person's hours, holidays, trips and office/VPN/home habits the way
the Okta half does (the same trips, and the same address on a trip, as the Okta generator).

Planned events go through :func:`~opencasb.sandbox.office365.gen_publish.schedule`, which
gives each its random bits and publication time.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

from opencasb.sandbox.office365 import gen_aad as aad
from opencasb.sandbox.office365 import gen_files as gf
from opencasb.sandbox.office365 import gen_mail as gm
from opencasb.sandbox.office365 import gen_misc as gx
from opencasb.sandbox.office365.gen_core import Sess
from opencasb.sandbox.office365.gen_ids import mix
from opencasb.sandbox.office365.gen_publish import Ev, Late, Spec, schedule
from opencasb.sandbox.office365.gen_tenant import PersonT, TenantT
from opencasb.sandbox.org import is_holiday
from opencasb.sandbox.org.leave import on_leave
from opencasb.sandbox.org.trips import travel_day, trip_city

__all__ = ["DAY", "UNIX_EPOCH_ORDINAL", "Planner"]


UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY = 86_400
_SENSITIVE_DEPTS = frozenset({"Finance", "Sales", "Legal", "People", "Executive"})
_SHARERS = frozenset({"Sales", "Legal", "Executive", "Marketing"})
# Directory operations admins do, weighted (see gen_aad._OPS).
_DIR_WEIGHTS = (0.2, 0.3, 0.05, 0.05, 0.25, 0.15)


class Planner:
    """Schedules the records of one tenant; holds caches that only depend on the org."""

    def __init__(self, tt: TenantT, seed: int, late: Late | None = None) -> None:
        self.tt = tt
        self.seed = seed
        self.late = late  # records published hours late (the emulator's late_fraction)
        self._offsets: dict[tuple[str, int], int] = {}
        self._holidays: dict[tuple[str, int], bool] = {}
        self._org = Sess(tt, None, None, "", None, 0)

    def midnight(self, tz: str, day: int) -> int:
        """Unix seconds of local midnight starting ``day`` (an ordinal) in ``tz``."""
        key = (tz, day)
        off = self._offsets.get(key)
        if off is None:
            d = date.fromordinal(day)
            delta = datetime(d.year, d.month, d.day, 12, tzinfo=ZoneInfo(tz)).utcoffset()
            off = self._offsets[key] = int(delta.total_seconds()) if delta else 0
        return (day - UNIX_EPOCH_ORDINAL) * DAY - off

    def holiday(self, country: str, day: int) -> bool:
        key = (country, day)
        h = self._holidays.get(key)
        if h is None:
            h = self._holidays[key] = is_holiday(country, date.fromordinal(day))
        return h

    # --- people ---------------------------------------------------------------------------
    def person_day(self, pt: PersonT, day: int, out: list[Spec]) -> None:
        """Append the records of ``pt`` on local day ``day`` (an ordinal) to ``out``."""
        p = pt.person
        if day < pt.created_day or not pt.enabled or pt.status in ("PROVISIONED", "STAGED"):
            return
        if on_leave(self.seed, p.index, day):  # suspended in Okta meanwhile (org/leave.py)
            return
        rng = random.Random(mix(self.seed, p.index, day, 0x0365))
        rnd = rng.random
        working = (day - 1) % 7 < 5 and not self.holiday(p.city.country, day)
        trip = trip_city(self.seed, p, day)  # the same trips in every app
        if travel_day(self.seed, p, day):
            # flying out or home: nothing on the way, so that a trip's sign-ins are never
            # faster apart than a flight (everyday activity is benign by construction)
            return
        base = self.midnight(trip.tz if trip else p.city.tz, day)
        ev: list[Ev] = []
        dev0 = pt.devices[0]
        if pt.status == "LOCKED_OUT":
            if working and rnd() < 0.3:
                s = Sess(self.tt, pt, dev0, pt.home, None, rng.getrandbits(128))
                t = base + p.work_start * 60 + int(rnd() * 3600)
                for k in range(1 + int(rnd() * 3)):
                    ev.append((t + k * (5 + int(rnd() * 85)), aad.SIGN_IN, s, (0, 50053)))
            schedule(pt.index, day, ev, rng, out, self.late)
            return
        away = ""
        if trip is not None:
            net = trip.nets[(mix(p.index, day) >> 3) % len(trip.nets)][1]
            h = mix(self.seed, p.index, day, 0x4073)
            away = f"{net}.{h % 254 + 1}.{(h >> 8) % 254 + 1}"
        if working:
            if rnd() < 0.04:  # a day off
                return
            ip6 = None
            new_place = False
            if trip is not None:
                ip, new_place = (pt.vpn, False) if p.uses_vpn and rnd() < 0.5 else (away, True)
            elif pt.office is not None and rnd() < p.office_days:
                ip = pt.office
            elif p.uses_vpn and rnd() < 0.6:
                ip = pt.vpn
            else:
                ip, ip6 = pt.home, pt.home6
            self._workday(pt, base, ip, ip6, new_place, rng, ev)
        elif rnd() < 0.08:  # a look at mail on a day off
            dev = pt.devices[-1]
            s = Sess(
                self.tt, pt, dev, away or pt.home, None if away else pt.home6, rng.getrandbits(128)
            )
            t = base + (9 * 60 + int(rnd() * 13 * 60)) * 60
            ev.append((t, aad.SIGN_IN, s, (4 if dev.kind != "Computer" else 0, 0)))
            for _ in range(2 + int(rnd() * 3) if p.kind != "guest" else 0):
                ev.append((t + 20 + int(rnd() * 1200), gm.MAIL_ACCESS, s, False))
            if rnd() < 0.4:
                site = self.tt.depts[pt.dept].site
                ev.append((t + 60 + int(rnd() * 1800), gf.FILE_OP, s, (0, site, int(rnd() * 40))))
        schedule(pt.index, day, ev, rng, out, self.late)

    def _workday(
        self,
        pt: PersonT,
        base: int,
        ip: str,
        ip6: str | None,
        new_place: bool,
        rng: random.Random,
        ev: list[Ev],
    ) -> None:
        p = pt.person
        rnd = rng.random
        tt = self.tt
        t = base + (p.work_start - 20 + int(rnd() * 60)) * 60 + int(rnd() * 60)
        end = base + (p.work_end - 30 + int(rnd() * 90)) * 60
        span = max(end - t - 60, 3600)
        s = Sess(tt, pt, pt.devices[0], ip, ip6, rng.getrandbits(128))
        add = ev.append
        # Signing in: a typo now and then, MFA when somewhere new, "stay signed in?".
        if rnd() < 0.035:
            add((t - 8 - int(rnd() * 50), aad.SIGN_IN, s, (0, 50126)))
        if new_place or rnd() < 0.15:
            add((t, aad.SIGN_IN, s, (0, 50074)))
            t += 10 + int(rnd() * 30)
            if rnd() < 0.03:
                add((t, aad.SIGN_IN, s, (0, 50076)))
                t += 20 + int(rnd() * 40)
        if rnd() < 0.1:
            add((t, aad.SIGN_IN, s, (0, 50140)))
            t += 2 + int(rnd() * 6)
        add((t, aad.SIGN_IN, s, (0, 0)))
        for _ in range(2 + int(rnd() * 4)):
            add(
                (
                    t + int(rnd() * span),
                    aad.SIGN_IN,
                    s,
                    (1 + int(rnd() * 3) if rnd() < 0.8 else 5, 0),
                )
            )
        dept = pt.dept
        # Teams.
        add((t + 30 + int(rnd() * 600), gx.TEAMS, s, (0, dept)))
        for _ in range(int(rnd() * 5)):
            add((t + int(rnd() * span), gx.TEAMS, s, (1, dept)))
        if p.kind == "guest":  # no mailbox, no OneDrive: the team's files only
            site = tt.depts[dept].site
            for _ in range(1 + int(rnd() * 4)):
                f = int(rnd() * len(site.files))
                add((t + int(rnd() * span), gf.FILE_OP, s, (0, site, f)))
            return
        # Mail.
        add((t + 5 + int(rnd() * 120), gm.MAIL_ACCESS, s, True))
        for _ in range(1 + int(rnd() * 4)):
            add((t + int(rnd() * span), gm.MAIL_ACCESS, s, False))
        sends = 2 + int(rnd() * 7)
        for _ in range(sends):
            ts = t + int(rnd() * span)
            add((ts, gm.ITEM, s, -1))
            if rnd() < 0.004:
                add((ts + 1, gm.DLP_MAIL, s, int(rnd() * 5)))
        for _ in range(int(rnd() * 4)):
            add((t + int(rnd() * span), gm.ITEM_GROUP, s, 0))
        if rnd() < 0.15:
            add((t + int(rnd() * span), gm.ITEM_GROUP, s, 1))
        if rnd() < 0.05:
            add((t + int(rnd() * span), gm.ITEM_GROUP, s, 2))
        if p.kind == "employee" and rnd() < 0.02:
            members = tt.depts[dept].members
            add((t + int(rnd() * span), gm.ITEM, s, members[int(rnd() * len(members))]))
        self._files(pt, s, t, span, rng, ev)
        self._extras(pt, s, t, span, rng, ev)
        if p.is_admin and rnd() < 0.35:
            self._admin(pt, s, t + int(rnd() * span * 0.5), rng, ev)
        if len(pt.devices) > 1 and rnd() < 0.25:  # the phone, during the day
            m = Sess(tt, pt, pt.devices[1], ip, None, rng.getrandbits(128))
            t2 = t + int(rnd() * span)
            add((t2, aad.SIGN_IN, m, (4, 0)))
            add((t2 + 5 + int(rnd() * 60), gm.MAIL_ACCESS, m, True))
            add((t2 + 60 + int(rnd() * 600), gx.TEAMS, m, (0, dept)))
        if rnd() < 0.1:  # an evening check from home
            dev = pt.devices[-1]
            e = Sess(tt, pt, dev, pt.home if not new_place else ip, pt.home6, rng.getrandbits(128))
            t3 = base + (19 * 60 + int(rnd() * 210)) * 60
            add((t3, aad.SIGN_IN, e, (4 if dev.kind != "Computer" else 2, 0)))
            add((t3 + 10 + int(rnd() * 300), gm.MAIL_ACCESS, e, False))

    def _files(
        self, pt: PersonT, s: Sess, t: int, span: int, rng: random.Random, ev: list[Ev]
    ) -> None:
        rnd = rng.random
        add = ev.append
        own, team = pt.onedrive, self.tt.depts[pt.dept].site
        sensitive = pt.person.department in _SENSITIVE_DEPTS
        counts = (
            5 + int(rnd() * 10),  # FileAccessed
            int(rnd() * 5),  # FileModified
            int(rnd() * 3),  # FileDownloaded
            int(rnd() * 3) if rnd() < 0.5 else 0,  # FileUploaded
            1 + int(rnd() * 4) if s.dev is not None and s.dev.managed and rnd() < 0.15 else 0,
            1 if rnd() < 0.08 else 0,  # FileRenamed
            1 + int(rnd() * 2) if rnd() < 0.15 else 0,  # FileDeleted
        )
        for op, n in enumerate(counts):
            for _ in range(n):
                site = team if rnd() < 0.6 else own
                f = int(rnd() * len(site.files))
                ts = t + int(rnd() * span)
                add((ts, gf.FILE_OP, s, (op, site, f)))
                if sensitive and op in (1, 3) and rnd() < 0.03:
                    add((ts + 30 + int(rnd() * 270), gf.DLP_FILE, s, (site, f)))
        people = self.tt.people
        external = _SHARERS.__contains__(pt.person.department)
        for op, chance in enumerate((0.15, 0.1, 0.12 if external else 0.04, 0.015)):
            if rnd() < chance:
                site = own if rnd() < 0.7 else team
                colleague = int(rnd() * len(people))
                args = (op, site, int(rnd() * len(site.files)), colleague, op == 2)
                add((t + int(rnd() * span), gf.SHARE, s, args))

    def _extras(
        self, pt: PersonT, s: Sess, t: int, span: int, rng: random.Random, ev: list[Ev]
    ) -> None:
        """Power BI, Dynamics, flows, forms, inbox rules: the less frequent workloads."""
        rnd = rng.random
        add = ev.append
        if pt.powerbi and rnd() < 0.4:
            for _ in range(1 + int(rnd() * 3)):
                add((t + int(rnd() * span), gx.POWERBI, s, 0))
            if rnd() < 0.3:
                add((t + int(rnd() * span), gx.POWERBI, s, 1))
            if rnd() < 0.03:
                add((t + int(rnd() * span), gx.POWERBI, s, 2))
        if pt.crm and rnd() < 0.6:
            for _ in range(2 + int(rnd() * 7)):
                roll = rnd()
                op = 0 if roll < 0.55 else 1 if roll < 0.8 else 2 if roll < 0.92 else 3
                if roll > 0.995:
                    op = 4
                add((t + int(rnd() * span), gx.CRM, s, op))
        for op, chance in enumerate((0.004, 0.01, 0.002)):
            if rnd() < chance:
                add((t + int(rnd() * span), gx.FLOW, s, op))
        for op, chance in enumerate((0.005, 0.005, 0.02, 0.01)):
            if rnd() < chance:
                add((t + int(rnd() * span), gx.FORMS, s, op))
        me = pt.index
        if rnd() < 0.004:
            variant = int(rnd() * 3) if rnd() < 14 / 15 else 3 + int(rnd() * 5)
            ts = t + int(rnd() * span)
            add((ts, gm.ADMIN, s, ("New-InboxRule", me, variant)))
            if variant >= 3:  # a forwarding rule raises the built-in alert
                key = rng.getrandbits(128)
                ta = ts + 300 + int(rnd() * 900)
                add((ta, gx.ALERT, self._org, (0, me, False, key)))
                add((ta, gx.ALERT, self._org, (0, me, True, key)))
        if rnd() < 0.002:
            add((t + int(rnd() * span), gm.ADMIN, s, ("Set-InboxRule", me, int(rnd() * 3))))
        if rnd() < 0.002:
            add((t + int(rnd() * span), gm.ADMIN, s, ("Set-Mailbox", me, 8 + 2 * int(rnd() * 4))))

    def _admin(self, pt: PersonT, s: Sess, t: int, rng: random.Random, ev: list[Ev]) -> None:
        rnd = rng.random
        people = self.tt.people
        ev.append((t, aad.SIGN_IN, s, (6, 0)))
        for _ in range(1 + int(rnd() * 3)):
            t += 20 + int(rnd() * 600)
            who = int(rnd() * len(people))
            roll = rnd()
            if roll < 0.7:
                op = rng.choices(range(6), _DIR_WEIGHTS)[0]
                ev.append((t, aad.DIRECTORY, s, (op, who, int(rnd() * 64))))
            elif roll < 0.85:
                ev.append((t, gm.ADMIN, s, ("Set-Mailbox", who, 2 * int(rnd() * 4))))
            elif roll < 0.93:
                delegate = int(rnd() * len(people))
                ev.append((t, gm.ADMIN, s, ("Add-MailboxPermission", who, delegate)))
            else:
                dept = people[who].dept
                ev.append((t, gx.TEAMS, s, (3, dept)))

    # --- the tenant -----------------------------------------------------------------------
    def org_day(self, day: int, out: list[Spec]) -> None:
        """Append the tenant-wide records of UTC day ``day``: alerts, new communities."""
        tt = self.tt
        rng = random.Random(mix(self.seed, 0xD00D, day, 0x0365))
        rnd = rng.random
        base = (day - UNIX_EPOCH_ORDINAL) * DAY
        ev: list[Ev] = []
        n = len(tt.people)
        for _ in range(int(rnd() * (2 + n // 2000))):  # mail removed after delivery (ZAP)
            who, key, ts = int(rnd() * n), rng.getrandbits(128), base + int(rnd() * DAY)
            ev.append((ts, gx.ALERT, self._org, (2, who, False, key)))
            ev.append((ts, gx.ALERT, self._org, (2, who, True, key)))
        if (day - 1) % 7 < 5:
            active = [p for p in (tt.people[int(rnd() * n)] for _ in range(3)) if _active(p)]
            if active and rnd() < 0.15:
                pt = active[0]
                s = Sess(tt, pt, pt.devices[0], pt.office or pt.vpn, None, rng.getrandbits(128))
                name = (
                    f"{pt.person.department} {('news', 'ideas', 'social', 'help')[int(rnd() * 4)]}"
                )
                ev.append((base + 9 * 3600 + int(rnd() * 8 * 3600), gx.YAMMER, s, name))
            if len(active) > 1 and rnd() < 0.1:
                pt = active[1]
                s = Sess(tt, pt, pt.devices[0], pt.office or pt.vpn, None, rng.getrandbits(128))
                ts = base + 9 * 3600 + int(rnd() * 8 * 3600)
                ev.append((ts, gx.TEAMS, s, (2, pt.dept)))
                ev.append((ts + 3, gx.TEAMS, s, (3, pt.dept)))
        schedule(len(tt.people), day, ev, rng, out, self.late)


def _active(pt: PersonT) -> bool:
    return pt.enabled and pt.status == "ACTIVE"
