"""Activity volume against the user's own baseline: unusual download, sharing, deletion and
administrative activity volume, and
ransomware (many files renamed or uploaded to an extension the user never used).

* **Volume**: operations of one kind in the last hour above both a floor and a multiple
  (:attr:`~.settings.Thresholds.failed_factor`, the shared baseline factor) of the busiest
  hour of that kind the user had on earlier days. Needs the user's learning period; one
  finding per user and kind per hour. At low and medium sensitivity, downloads from
  addresses tagged ``corporate`` or ``vpn`` are not counted: bulk exports from the office are
  how administrators work (the sandbox's benign look-alike); at high they count.
* **Ransomware**: at least :attr:`~.settings.Thresholds.ransom_files` files renamed or
  uploaded to one extension within five minutes, the extension not among those the user
  renamed or uploaded to before. An extension joins the baseline only when its operations
  leave the five-minute window, so a burst never becomes its own baseline.
"""

from __future__ import annotations

from opencasb.detect.anomaly.base import Applies, Context, utc_day
from opencasb.detect.anomaly.settings import Sensitivity
from opencasb.detect.anomaly.state import MAX_EXTENSIONS, MAX_FILE_EVENTS, MAX_PEAK_DAYS
from opencasb.detect.engine import Finding
from opencasb.detect.policy import Severity, Tactic
from opencasb.model.activity import Category, Outcome

__all__ = [
    "FILE_VOLUME",
    "MASS_DELETE",
    "MASS_DOWNLOAD",
    "MASS_SHARE",
    "RANSOMWARE",
    "RENAMES",
    "UNUSUAL_ADMIN",
    "file_volume",
    "ransomware",
]

MASS_DOWNLOAD = "anomaly.mass_download"
MASS_DELETE = "anomaly.mass_delete"
MASS_SHARE = "anomaly.mass_share"
UNUSUAL_ADMIN = "anomaly.unusual_admin_activity"
RANSOMWARE = "anomaly.ransomware"
_HOUR_US = 3_600_000_000
_RANSOM_WINDOW_US = 5 * 60_000_000

_NAMES = {
    "download": "Unusual file download",
    "share": "Unusual file sharing",
    "delete": "Unusual file deletion",
    "admin": "Unusual administrative activity",
}
_TACTICS = {
    "download": Tactic.EXFILTRATION,
    "share": Tactic.EXFILTRATION,
    "delete": Tactic.IMPACT,
    "admin": Tactic.PERSISTENCE,
}
_NOUNS = {
    "download": "files",
    "share": "items",
    "delete": "files",
    "admin": "administrative actions",
}
_DOWNLOADS = frozenset({"FileDownloaded", "FileSyncDownloadedFull"})
_DELETIONS = frozenset({"FileDeleted", "FileRecycled", "FolderDeleted"})
_SHARING = frozenset(
    {
        "SharingSet",
        "AddedToSecureLink",
        "SharingInvitationCreated",
        "AnonymousLinkCreated",
        "CompanyLinkCreated",
        "SecureLinkCreated",
    }
)
_WRITES = frozenset({"FileRenamed", "FileUploaded", "FileSyncUploadedFull", "FileMoved"})
FILE_VOLUME = Applies(
    types=_DOWNLOADS | _DELETIONS | _SHARING, categories=frozenset({Category.ADMIN})
)
"""What :func:`file_volume` acts on."""
RENAMES = Applies(types=_WRITES)
"""What :func:`ransomware` acts on."""


def _extension(ctx: Context) -> str:
    d = ctx.activity.details
    ext = d.get("destination_file_extension") or d.get("source_file_extension") or ""
    return str(ext).lower().lstrip(".")


def file_volume(ctx: Context) -> list[Finding]:
    """Unusually many downloads or deletions in an hour for this user."""
    u, a = ctx.user, ctx.activity
    if u is None or a.outcome is Outcome.FAILURE:
        return []
    if a.activity_type in _DOWNLOADS:
        kind, detector, verb, floor = (
            "download", MASS_DOWNLOAD, "downloaded", ctx.settings.thresholds.download_floor
        )  # fmt: skip
    elif a.activity_type in _DELETIONS:
        kind, detector, verb, floor = (
            "delete", MASS_DELETE, "deleted", ctx.settings.thresholds.delete_floor
        )  # fmt: skip
    elif a.activity_type in _SHARING:
        kind, detector, verb, floor = (
            "share", MASS_SHARE, "shared", ctx.settings.thresholds.share_floor
        )  # fmt: skip
    elif a.category is Category.ADMIN:
        kind, detector, verb, floor = (
            "admin", UNUSUAL_ADMIN, "performed", ctx.settings.thresholds.admin_floor
        )  # fmt: skip
    else:
        return []
    if detector in ctx.settings.disabled:
        return []
    trusted = ctx.tags & {"corporate", "vpn"}
    if kind == "download" and trusted and ctx.settings.sensitivity is not Sensitivity.HIGH:
        return []
    events = [e for e in u.files.get(kind, []) if ctx.t - e[0] < _HOUR_US]
    events = [*events[-(MAX_FILE_EVENTS - 1) :], [ctx.t, ctx.activity_id, ""]]
    u.files[kind] = events
    count = len(events)
    day = utc_day(ctx.t)
    prefix = kind + ":"
    mine = [k for k in u.file_peak if k.startswith(prefix)]  # this kind's days
    cut = len(prefix)
    baseline = max((u.file_peak[k] for k in mine if k[cut:] < day), default=0)
    key = prefix + day
    if key not in u.file_peak:
        mine.append(key)
    u.file_peak[key] = max(u.file_peak.get(key, 0), count)
    if len(mine) > MAX_PEAK_DAYS:
        for old in sorted(mine)[:-MAX_PEAK_DAYS]:
            del u.file_peak[old]
    need = max(floor, int(baseline * ctx.settings.thresholds.failed_factor) + 1)
    if count < need or not ctx.learned(u.first):
        return []
    last = u.alerted.get(detector)
    if last is not None and ctx.t - last < _HOUR_US:
        return []
    u.alerted[detector] = ctx.t
    minutes = max(1, round((ctx.t - events[0][0]) / 60_000_000))
    text = (
        f"{ctx.user_key} {verb} {count} {_NOUNS[kind]} within "
        f"{minutes} min; this user's busiest hour "
        f"on earlier days was {baseline} (alert from {need} at {ctx.settings.sensitivity} "
        "sensitivity)"
    )
    return [
        ctx.finding(
            detector,
            _NAMES[kind],
            severity=Severity.MEDIUM,
            tactic=_TACTICS[kind],
            technique={"download": "T1530", "share": "T1567", "delete": "T1485", "admin": "T1098"}[
                kind
            ],
            evidence=[(e[0], e[1]) for e in events],
            explanation=text,
        )
    ]


def ransomware(ctx: Context) -> list[Finding]:
    """Many files renamed or uploaded to an extension new to the user, within five minutes."""
    u, a = ctx.user, ctx.activity
    if u is None or a.activity_type not in _WRITES or a.outcome is Outcome.FAILURE:
        return []
    ext = _extension(ctx)
    if not ext:
        return []
    window: list[list[object]] = []
    for e in u.files.get("rename", []):
        if ctx.t - int(str(e[0])) < _RANSOM_WINDOW_US:
            window.append(e)
        else:  # leaving the window: now part of the baseline
            old = str(e[2])
            u.extensions[old] = u.extensions.get(old, 0) + 1
    if len(u.extensions) > MAX_EXTENSIONS:
        for old in sorted(u.extensions, key=lambda k: (u.extensions[k], k))[:-MAX_EXTENSIONS]:
            del u.extensions[old]
    window = [*window[-(MAX_FILE_EVENTS - 1) :], [ctx.t, ctx.activity_id, ext]]
    u.files["rename"] = window
    same = [e for e in window if e[2] == ext]
    need = ctx.settings.thresholds.ransom_files
    if ext in u.extensions or len(same) != need or not ctx.learned(u.first):
        return []
    usual = sorted(u.extensions, key=lambda k: (-u.extensions[k], k))[:5]
    text = (
        f"{ctx.user_key} renamed or uploaded {need} files to .{ext} within "
        f"{max(1, round((ctx.t - int(str(same[0][0]))) / 60_000_000))} min, an extension this "
        f"user never used before (usual: {', '.join('.' + x for x in usual) or 'none'})"
    )
    return [
        ctx.finding(
            RANSOMWARE,
            "Potential ransomware activity",
            severity=Severity.HIGH,
            tactic=Tactic.IMPACT,
            technique="T1486",
            evidence=[(int(str(e[0])), int(str(e[1]))) for e in same],
            explanation=text,
        )
    ]
