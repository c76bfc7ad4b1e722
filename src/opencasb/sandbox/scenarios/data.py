"""Data and mailbox attacks seen in the Office 365 audit log: mass download, mass deletion,
ransomware-like renames, malicious inbox rules, external forwarding and a risky OAuth
consent. Each function plans one scenario and returns its :class:`~.model.Injection`.
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.office365 import gen_aad as aad
from opencasb.sandbox.office365 import gen_core as oc
from opencasb.sandbox.office365 import gen_files as gf
from opencasb.sandbox.office365 import gen_mail as gm
from opencasb.sandbox.office365.gen_ids import derive
from opencasb.sandbox.office365.gen_tenant import SiteT

from .kit import FOREIGN, Kit, Recorder, Victim, foreign_loc
from .model import Injection

__all__ = [
    "inbox_rule",
    "mailbox_forwarding",
    "mass_delete",
    "mass_download",
    "oauth_consent",
    "ransomware_rename",
]

_RANSOM_EXT = ("locked", "crypt", "enc", "lockbit")


def _start(kit: Kit, rec: Recorder, v: Victim, late: int = 0) -> int:
    day = kit.day(rec.rng)
    p = v.o365.person
    return kit.local(p.city, day, p.work_start + late + rec.rng.randrange(0, 120))


def _sites(kit: Kit, v: Victim) -> list[SiteT]:
    own = kit.tt.depts[v.o365.dept].site
    return [v.o365.onedrive, own, *(d.site for d in kit.tt.depts if d.site is not own)]


def _file_burst(
    rec: Recorder, kit: Kit, v: Victim, sess: oc.Sess, ts: int, op: int, n: int,
    kind: oc.Kind = gf.FILE_OP,
) -> int:  # fmt: skip
    """``n`` operations on distinct files across the person's OneDrive and the sites."""
    files = [(site, k) for site in _sites(kit, v) for k in range(len(site.files))]
    for site, k in files[:n]:
        ts += rec.rng.randrange(1, 12)
        rec.o365(ts, kind, sess, (op, site, k))
    return ts


def mass_download(kit: Kit) -> Injection:
    """A sign-in from abroad, then 80-150 files downloaded in a quarter of an hour."""
    rec = Recorder(kit, "mass_download", "attack", "mass_download")
    v = kit.victim(rec.rng)
    ts = _start(kit, rec, v, late=180)
    f = FOREIGN[rec.rng.randrange(len(FOREIGN))]
    sess = rec.o365_sess(v, foreign_loc(f, rec.bits()).ip)
    rec.o365(ts, aad.SIGN_IN, sess, (0, 0))
    n = 80 + rec.rng.randrange(71)
    _file_burst(rec, kit, v, sess, ts + 60, 2, n)
    rec.details.update(files=str(n), source_ip=sess.ip)
    return rec.finish(v.email)


def mass_delete(kit: Kit) -> Injection:
    """60-120 files deleted in a few minutes from the person's usual address."""
    rec = Recorder(kit, "mass_delete", "attack", "mass_deletion")
    v = kit.victim(rec.rng)
    ts = _start(kit, rec, v, late=60)
    sess = rec.o365_sess(v, v.o365.home)
    n = 60 + rec.rng.randrange(61)
    _file_burst(rec, kit, v, sess, ts, 6, n)
    rec.details["files"] = str(n)
    return rec.finish(v.email)


def _ransom(ext: str) -> oc.Kind:
    def build(sess: oc.Sess, ts: int, x: Any, r: int) -> dict[str, Any]:
        rec = gf.file_op(sess, ts, x, r)
        name = rec["SourceFileName"]
        rec["DestinationFileName"] = f"{name}.{ext}"
        rec["DestinationFileExtension"] = ext
        return rec

    return oc.Kind("ransom_rename", build, oc.SHAREPOINT)


def ransomware_rename(kit: Kit) -> Injection:
    """Each file modified (encrypted) and renamed to ``<name>.<ext>``, 60-120 files."""
    rec = Recorder(kit, "ransomware_rename", "attack", "ransomware")
    v = kit.victim(rec.rng)
    ts = _start(kit, rec, v, late=240)
    sess = rec.o365_sess(v, v.o365.home)
    ext = _RANSOM_EXT[rec.rng.randrange(len(_RANSOM_EXT))]
    n = 60 + rec.rng.randrange(61)
    files = [(s, k) for s in _sites(kit, v) for k in range(len(s.files))][:n]
    kind = _ransom(ext)
    for site, k in files:
        ts += rec.rng.randrange(1, 6)
        rec.o365(ts, gf.FILE_OP, sess, (1, site, k))
        rec.o365(ts + 1, kind, sess, (5, site, k))
    rec.details.update(files=str(n), extension=ext)
    return rec.finish(v.email)


def _inbox_rule(sess: oc.Sess, ts: int, x: tuple[str, int, int, str], r: int) -> dict[str, Any]:
    op, who, variant, forward = x
    rec = gm.exchange_admin(sess, ts, (op, who, variant), r)
    mailbox = rec["ObjectId"].rpartition("\\")[0]
    params = [
        ("Name", ".."),
        ("SubjectOrBodyContainsWords", "invoice;payment;wire;password"),
        ("ForwardTo", forward),
        ("DeleteMessage", "True"),
        ("MarkAsRead", "True"),
        ("StopProcessingRules", "True"),
        ("AlwaysDeleteOutlookRulesBlob", "False"),
        ("Force", "False"),
    ]
    rec["Parameters"] = [{"Name": k, "Value": v} for k, v in params]
    rec["ObjectId"] = f"{mailbox}\\.."
    return rec


_INBOX_RULE = oc.Kind("inbox_rule", _inbox_rule, oc.EXCHANGE)


def inbox_rule(kit: Kit) -> Injection:
    """From a foreign address: sign in, then ``New-InboxRule`` forwarding payment mail
    outside and deleting it."""
    rec = Recorder(kit, "inbox_rule_forward_delete", "attack", "malicious_inbox_rule")
    v = kit.victim(rec.rng)
    ts = _start(kit, rec, v, late=200)
    f = FOREIGN[rec.rng.randrange(len(FOREIGN))]
    sess = rec.o365_sess(v, foreign_loc(f, rec.bits()).ip)
    rec.o365(ts, aad.SIGN_IN, sess, (0, 0))
    fwd = f"{v.o365.person.last_name.lower().replace(' ', '')}.inv@{gf.EXTERNAL_DOMAINS[3]}"
    rec.o365(ts + rec.rng.randrange(60, 600), _INBOX_RULE, sess, ("New-InboxRule", v.index, 0, fwd))
    rec.details.update(forward_to=fwd, source_ip=sess.ip)
    return rec.finish(v.email)


def mailbox_forwarding(kit: Kit) -> Injection:
    """``Set-Mailbox -ForwardingSmtpAddress`` to an outside address, by the user."""
    rec = Recorder(kit, "mailbox_forwarding_external", "attack", "external_forwarding")
    v = kit.victim(rec.rng)
    ts = _start(kit, rec, v, late=100)
    sess = rec.o365_sess(v, v.o365.home)
    rec.o365(ts, aad.SIGN_IN, sess, (0, 0))
    variant = 2 * rec.rng.randrange(len(gf.EXTERNAL_DOMAINS)) + 1  # odd: forwards outside
    rec.o365(ts + rec.rng.randrange(60, 900), gm.ADMIN, sess, ("Set-Mailbox", v.index, variant))
    return rec.finish(v.email)


_RISKY_SCOPES = (
    "Mail.ReadWrite Mail.Send Files.ReadWrite.All Contacts.Read User.Read offline_access"
)


def _consent(sess: oc.Sess, ts: int, x: tuple[int, int, int, str], r: int) -> dict[str, Any]:
    op, who, which, app_name = x
    rec = aad.directory(sess, ts, (op, who, which), r)
    sp = derive(r, 5)
    for change in rec["ModifiedProperties"]:
        if change["Name"] in ("ConsentContext.IsAdminConsent", "ConsentContext.OnBehalfOfAll"):
            change["NewValue"] = "False"
        elif change["Name"] == "ConsentAction.Permissions":
            change["NewValue"] = (
                f"[] => [[Id: {derive(r, 13)}, ClientId: {sp}, ConsentType: Principal, "
                f"Scope: {_RISKY_SCOPES}]]; "
            )
    rec["Target"] = [dict(t) for t in rec["Target"]]
    rec["Target"][3]["ID"] = app_name
    rec["ObjectId"] = app_name
    return rec


_CONSENT = oc.Kind("risky_consent", _consent, oc.AAD)


def oauth_consent(kit: Kit) -> Injection:
    """A user consents to an unverified app asking to read, send and delete mail and files."""
    rec = Recorder(kit, "risky_oauth_consent", "attack", "risky_oauth_consent")
    v = kit.victim(rec.rng, lambda x: not x.o365.person.is_admin)
    ts = _start(kit, rec, v, late=150)
    sess = rec.o365_sess(v, v.o365.home)
    rec.o365(ts, aad.SIGN_IN, sess, (0, 0))
    name = ("Mail Backup Pro", "PDF Converter Online", "Secure Doc Viewer")[rec.rng.randrange(3)]
    rec.o365(ts + rec.rng.randrange(30, 300), _CONSENT, sess, (3, v.index, 0, name))
    rec.details.update(application=name, scopes=_RISKY_SCOPES)
    return rec.finish(v.email)
