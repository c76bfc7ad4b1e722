"""Identity attacks seen in the Okta System Log (and, for two of them, in Azure AD too).

Each function plans one scenario with a :class:`~.kit.Recorder` and returns its
:class:`~.model.Injection`. Victims sign in from their home line, as on any working day;
attackers come from hosting networks, Tor exits or countries nobody in the org lives in.
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.office365 import gen_aad as aad
from opencasb.sandbox.office365 import gen_files as gf
from opencasb.sandbox.okta import gen_admin as adm
from opencasb.sandbox.okta import gen_events as ge
from opencasb.sandbox.okta.gen_ids import okta_id
from opencasb.sandbox.org import CITIES

from .kit import FOREIGN, TOR, Kit, Recorder, Victim, distance_km, foreign_loc
from .model import Injection

__all__ = [
    "api_token_created",
    "brute_force",
    "disabled_user_activity",
    "impossible_travel",
    "infrequent_country",
    "mfa_factor_reset",
    "mfa_fatigue",
    "okta_then_o365_other_country",
    "password_spray",
    "super_admin_grant",
    "tor_sign_in",
]

_MIN = 60_000


def _work_ms(kit: Kit, rec: Recorder, v: Victim, day: int, late: int = 0) -> int:
    p = v.okta.person
    minutes = p.work_start + late + rec.rng.randrange(0, 90)
    return kit.local(p.city, day, minutes) * 1000 + rec.rng.randrange(60_000)


def _ssos(rec: Recorder, s: ge.Sess, ms: int, n: int) -> None:
    pt = s.pt
    assert pt is not None
    for k in range(min(n, len(pt.apps))):
        rec.okta(ms + rec.rng.randrange(5_000, 900_000), ge.sso, s, k)


def _custom(
    event_type: str, legacy: str | None, message: str, result: str, reason: str | None
) -> ge.Builder:
    """A builder for an event type the everyday generator never writes."""

    def build(
        ms: int, s: ge.Sess, r: int, x: tuple[str, list[dict[str, Any]] | None]
    ) -> dict[str, Any]:
        uri, target = x
        debug: dict[str, Any] = {"requestUri": uri, "threatSuspected": "false", "url": uri + "?"}
        return ge.event(ms, r, s, event_type, legacy, message, result, reason, "INFO", debug,
                        target, 2 if event_type.startswith("user.mfa") else 0)  # fmt: skip

    return build


def impossible_travel(kit: Kit) -> Injection:
    """Home sign-in, then a successful sign-in 40-100 min later from thousands of km away."""
    rec = Recorder(kit, "impossible_travel", "attack", "impossible_travel")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    p = v.okta.person
    t = _work_ms(kit, rec, v, day)
    home = rec.okta_sess(v, v.okta.home)
    t1 = rec.sign_in(t, home, False)
    _ssos(rec, home, t1, 2)
    f = kit.farthest(p.city.lat, p.city.lon)
    away = rec.okta_sess(v, foreign_loc(f, rec.bits()), device=1)
    t2 = rec.sign_in(t1 + rec.randint_ms(40, 100), away, True)
    _ssos(rec, away, t2, 2)
    rec.details.update(
        from_country=p.city.country, to_country=f.country,
        km=str(round(distance_km(p.city.lat, p.city.lon, f.lat, f.lon))),
    )  # fmt: skip
    return rec.finish(v.email)


def infrequent_country(kit: Kit) -> Injection:
    """A whole working session from a country nobody in the org signs in from."""
    rec = Recorder(kit, "infrequent_country", "attack", "infrequent_country")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    homes = {c.country for c in CITIES}  # where people live and travel to: never nobody's
    away = [f for f in FOREIGN if f.country not in homes]
    f = away[rec.rng.randrange(len(away))]
    s = rec.okta_sess(v, foreign_loc(f, rec.bits()))
    t = rec.sign_in(_work_ms(kit, rec, v, day, late=120), s, True)
    _ssos(rec, s, t, 3)
    rec.details["country"] = f.country
    return rec.finish(v.email)


def tor_sign_in(kit: Kit) -> Injection:
    """A successful sign-in (and app use) through a Tor exit relay (``isProxy`` true)."""
    rec = Recorder(kit, "tor_sign_in", "attack", "anonymous_proxy")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    loc = foreign_loc(TOR, rec.bits(), proxy=True)
    s = rec.okta_sess(v, loc)
    t = rec.sign_in(_work_ms(kit, rec, v, day, late=240), s, True)
    _ssos(rec, s, t, 2)
    rec.details["source_ip"] = loc.ip
    return rec.finish(v.email)


def brute_force(kit: Kit) -> Injection:
    """20-40 failed password sign-ins against one user from one hosting IP in ~10 minutes."""
    rec = Recorder(kit, "brute_force", "attack", "brute_force")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    _, loc = adm.attacker(rec.rng.randrange(5) + 6 * rec.bits(32))
    s = ge.Sess(v.okta.actor, adm.BOT_UA, loc, None, v.okta)
    t = _work_ms(kit, rec, v, day, late=-180)
    n = 20 + rec.rng.randrange(21)
    for _ in range(n):
        t += rec.rng.randrange(3_000, 30_000)
        rec.okta(t, ge.session_start, s, "INVALID_CREDENTIALS")
    rec.okta(t + rec.rng.randrange(1_000, 9_000), ge.session_start, s, "LOCKED_OUT")
    rec.details.update(source_ip=loc.ip, attempts=str(n))
    return rec.finish(v.email)


def password_spray(kit: Kit) -> Injection:
    """One hosting IP tries one password against 20-30 users, a few seconds apart."""
    rec = Recorder(kit, "password_spray", "attack", "password_spray")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    _, loc = adm.attacker(rec.rng.randrange(5) + 6 * rec.bits(32))
    others = [o for o in kit.ot.people if o.status == "ACTIVE" and o is not v.okta]
    rec.rng.shuffle(others)
    targets = [v.okta, *others[: 19 + rec.rng.randrange(11)]]
    t = _work_ms(kit, rec, v, day, late=-300)
    for pt in targets:
        t += rec.rng.randrange(2_000, 20_000)
        rec.okta(t, ge.session_start, ge.Sess(pt.actor, adm.BOT_UA, loc, None, pt),
                 "INVALID_CREDENTIALS")  # fmt: skip
    rec.details.update(source_ip=loc.ip, accounts=str(len(targets)))
    return rec.finish(v.email)


_PUSH_SENT = _custom(
    "system.push.send_factor_verify_push", None, "Push notification sent for verification",
    "SUCCESS", None,
)  # fmt: skip
_PUSH_DENIED = _custom(
    "user.mfa.okta_verify.deny_push", "core.user.factor.attempt_fail",
    "User rejected Okta push verify", "FAILURE", "User rejected Okta push verify",
)  # fmt: skip
_PUSH_TIMEOUT = _custom(
    "user.authentication.auth_via_mfa", "core.user.factor.attempt_fail",
    "Authentication of user via MFA", "FAILURE", "TIMEOUT",
)  # fmt: skip


def mfa_fatigue(kit: Kit) -> Injection:
    """A stolen password, then 8-15 Okta Verify pushes rejected or timed out, then one
    accepted: the session starts from the attacker's address."""
    rec = Recorder(kit, "mfa_fatigue", "attack", "mfa_fatigue")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    f = FOREIGN[rec.rng.randrange(len(FOREIGN))]
    s = rec.okta_sess(v, foreign_loc(f, rec.bits()))
    t = _work_ms(kit, rec, v, day, late=-240)
    rec.okta(t, ge.policy_evaluate, s, ("CHALLENGE", True, kit.ot.policy_target))
    t += rec.rng.randrange(2_000, 6_000)
    rec.okta(t, ge.verify, s, True)
    target = [v.okta.user_target]
    n = 8 + rec.rng.randrange(8)
    for _ in range(n):
        t += rec.rng.randrange(15_000, 70_000)
        rec.okta(t, _PUSH_SENT, s, ("/idp/idx/authenticators/poll", target))
        t += rec.rng.randrange(5_000, 60_000)
        denied = rec.rng.random() < 0.6
        rec.okta(t, _PUSH_DENIED if denied else _PUSH_TIMEOUT, s,
                 ("/idp/idx/authenticators/poll", target))  # fmt: skip
    t += rec.rng.randrange(20_000, 90_000)
    rec.okta(t, _PUSH_SENT, s, ("/idp/idx/authenticators/poll", target))
    t += rec.rng.randrange(3_000, 20_000)
    rec.okta(t, ge.mfa, s, (0, True))
    t += rec.rng.randrange(100, 900)
    rec.okta(t, ge.session_start, s, None)
    _ssos(rec, s, t, 2)
    rec.details.update(pushes=str(n + 1), country=f.country)
    return rec.finish(v.email)


def _admin_sess(kit: Kit, rec: Recorder, super_only: bool) -> tuple[Victim, ge.Sess]:
    pool = kit.ot.super_admins if super_only else kit.ot.admins
    admins = [v for v in kit.eligible if v.index in pool] or [
        v for v in kit.eligible if v.okta.person.is_admin
    ]
    if not admins:
        admins = kit.eligible
    a = admins[rec.rng.randrange(len(admins))]
    s = ge.Sess(a.okta.actor, a.okta.devices[0], kit.ot.vpn[a.index % len(kit.ot.vpn)],
                rec_sid(rec), a.okta)  # fmt: skip
    return a, s


def rec_sid(rec: Recorder) -> str:
    from opencasb.sandbox.okta.gen_ids import session_id

    return session_id("idx", rec.bits(132))


def super_admin_grant(kit: Kit) -> Injection:
    """An admin session from an unusual country grants SUPER_ADMIN to a regular user."""
    rec = Recorder(kit, "super_admin_grant", "attack", "privilege_escalation")
    v = kit.victim(rec.rng, lambda x: not x.okta.person.is_admin)
    day = kit.day(rec.rng)
    a, s = _admin_sess(kit, rec, True)
    s = ge.Sess(s.actor, s.dev, foreign_loc(FOREIGN[rec.rng.randrange(len(FOREIGN))], rec.bits()),
                s.sid, s.pt)  # fmt: skip
    t = rec.sign_in(_work_ms(kit, rec, a, day, late=300), s, True)
    t += rec.rng.randrange(30_000, 300_000)
    rec.okta(t, ge.access_admin_app, s, None)
    u = v.okta.user_target
    t += rec.rng.randrange(20_000, 200_000)
    args = {"target": [u, *adm.role_targets("SUPER_ADMIN")], "path": {"u": u["id"]},
            "role": "SUPER_ADMIN"}  # fmt: skip
    rec.okta(t, adm.admin_action, s, ("grant", args))
    rec.details.update(granted_by=a.email, role="SUPER_ADMIN")
    return rec.finish(v.email)


def api_token_created(kit: Kit) -> Injection:
    """An admin's session from a hosting network creates an API token at night."""
    rec = Recorder(kit, "api_token_created", "attack", "api_token_created")
    day = kit.day(rec.rng)
    a, s = _admin_sess(kit, rec, False)
    kit.used.add(a.index)
    _, loc = adm.attacker(rec.rng.randrange(5) + 6 * rec.bits(32))
    s = ge.Sess(s.actor, s.dev, loc, s.sid, s.pt)
    t = rec.sign_in(kit.local(a.okta.person.city, day, 23 * 60 + rec.rng.randrange(50)) * 1000,
                    s, True)  # fmt: skip
    t += rec.rng.randrange(30_000, 200_000)
    rec.okta(t, ge.access_admin_app, s, None)
    n = rec.bits(32)
    name = f"sync-{n % 10_000:04d}"
    tok = {
        "id": okta_id("00T", kit.seed, 0x5CE7, n, kit.ot.d.suffix),
        "type": "Token",
        "alternateId": "unknown",
        "displayName": name,
        "detailEntry": None,
    }
    rec.okta(t + rec.rng.randrange(20_000, 120_000), adm.admin_action, s,
             ("token_create", {"target": [tok], "path": {"t": tok["id"]}}))  # fmt: skip
    rec.details.update(token=name, source_ip=loc.ip)
    return rec.finish(a.email)


_DEACTIVATE = _custom(
    "user.mfa.factor.deactivate", "core.user.factor.deactivate",
    "Reset factor or authenticator", "SUCCESS", None,
)  # fmt: skip


def mfa_factor_reset(kit: Kit) -> Injection:
    """An admin resets all of a user's factors; within the hour the user's push factor is
    deactivated and a new one enrolled from a foreign address."""
    rec = Recorder(kit, "mfa_factor_reset", "attack", "mfa_reset")
    v = kit.victim(rec.rng, lambda x: not x.okta.person.is_admin)
    day = kit.day(rec.rng)
    a, s = _admin_sess(kit, rec, False)
    t = _work_ms(kit, rec, a, day, late=60)
    u = v.okta.user_target
    rec.okta(t, adm.admin_action, s, ("reset_factors", {"target": [u], "path": {"u": u["id"]}}))
    f = FOREIGN[rec.rng.randrange(len(FOREIGN))]
    e = rec.okta_sess(v, foreign_loc(f, rec.bits()))
    t2 = rec.sign_in(t + rec.rng.randrange(10, 50) * _MIN, e, True, mfa=False)
    factor = {"id": v.okta.factors[0], "type": "AuthenticatorEnrollment", "alternateId": "unknown",
              "displayName": "Okta Verify", "detailEntry": None}  # fmt: skip
    rec.okta(t2 + rec.rng.randrange(5_000, 60_000), _DEACTIVATE, e,
             ("/api/v1/users/me/factors", [u, factor]))  # fmt: skip
    rec.okta(t2 + rec.rng.randrange(70_000, 300_000), ge.factor_activate, e, 0)
    rec.details.update(reset_by=a.email, country=f.country)
    return rec.finish(v.email)


def disabled_user_activity(kit: Kit) -> Injection:
    """An admin suspends a user in Okta after the user's working day; an hour or more later
    the user's still-open sessions and tokens are used (Okta app sign-ons, an Office 365
    sign-in and downloads); the admin unsuspends the user the next morning before work.

    Suspending after the working day and lifting it before the next keeps the victim's own
    everyday activity out of the suspended stretch, so that only this scenario's records are
    activity after a disable (the everyday generator knows nothing of the suspension).
    """
    rec = Recorder(kit, "disabled_user_activity", "attack", "activity_after_disable")
    v = kit.victim(rec.rng, lambda x: not x.okta.person.is_admin)
    day = kit.day(rec.rng)
    p = v.okta.person
    a, s = _admin_sess(kit, rec, False)
    t = kit.local(p.city, day, p.work_end + 30 + rec.rng.randrange(60)) * 1000
    u = v.okta.user_target
    rec.okta(t, adm.admin_action, s, ("suspend", {"target": [u], "path": {"u": u["id"]}}))
    home = rec.okta_sess(v, v.okta.home)
    t2 = t + rec.rng.randrange(60, 120) * _MIN
    _ssos(rec, home, t2, 2)
    sess = rec.o365_sess(v, v.o365.home)
    ts = t2 // 1000 + rec.rng.randrange(300, 1800)
    rec.o365(ts, aad.SIGN_IN, sess, (1, 0))
    site = kit.tt.depts[v.o365.dept].site
    for k in range(5 + rec.rng.randrange(6)):
        rec.o365(ts + 30 + k * rec.rng.randrange(20, 90), gf.FILE_OP, sess, (2, site, k))
    back = kit.local(p.city, day + 1, max(0, p.work_start - 60 - rec.rng.randrange(60))) * 1000
    rec.okta(back, adm.admin_action, s, ("unsuspend", {"target": [u], "path": {"u": u["id"]}}))
    rec.details.update(suspended_by=a.email)
    return rec.finish(v.email)


def okta_then_o365_other_country(kit: Kit) -> Injection:
    """An Okta sign-in at home, and 3-15 minutes later an Azure AD sign-in of the same user
    from another country."""
    rec = Recorder(kit, "okta_o365_cross_country", "attack", "cross_app_impossible_travel")
    v = kit.victim(rec.rng)
    day = kit.day(rec.rng)
    p = v.okta.person
    s = rec.okta_sess(v, v.okta.home)
    t = rec.sign_in(_work_ms(kit, rec, v, day), s, False)
    f = kit.farthest(p.city.lat, p.city.lon, exclude=p.city.country)
    ip = foreign_loc(f, rec.bits()).ip
    sess = rec.o365_sess(v, ip, device=1)
    rec.o365(t // 1000 + rec.rng.randrange(180, 900), aad.SIGN_IN, sess, (0, 0))
    rec.details.update(okta_country=p.city.country, o365_country=f.country, o365_ip=ip)
    return rec.finish(v.email)
