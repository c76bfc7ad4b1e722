"""SharePoint and OneDrive records: file operations (RecordType 6), sharing (RecordType 14)
and DLP policy matches on documents (RecordType 11), in the shapes of the beats samples.

File operations keep the documented invariant ``ObjectId == SiteUrl + SourceRelativeUrl +
"/" + SourceFileName``; sharing records spell ``SiteUrl`` without its trailing slash and put
the file name into ``SourceRelativeUrl``, as the real ones do (research §2.5 (c), (d)).
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.office365.gen_core import DLP, SHAREPOINT, Kind, Sess, correlation
from opencasb.sandbox.office365.gen_ids import creation_time, derive, guid
from opencasb.sandbox.office365.gen_tenant import SiteT

__all__ = ["DLP_FILE", "EXTERNAL_DOMAINS", "FILE_OP", "FILE_OPS", "SHARE", "SHARE_OPS"]

FILE_OPS = (
    "FileAccessed",
    "FileModified",
    "FileDownloaded",
    "FileUploaded",
    "FileSyncDownloadedFull",
    "FileRenamed",
    "FileDeleted",
)
SHARE_OPS = ("SharingSet", "AddedToSecureLink", "SharingInvitationCreated", "AnonymousLinkCreated")
EXTERNAL_DOMAINS = (
    "fabrikam.example",
    "northwind.example",
    "tailspin.example",
    "gmail.com",
    "outlook.com",
)
_SYNC_UA = {
    "Windows10": "Microsoft SkyDriveSync 25.174.0907.0002 ship; Windows NT 10.0 (19045)",
    "MacOs": "Microsoft SkyDriveSync 25.174.0907.0002 ship; Mac OS X 15.6",
}

# (operation index, site, file index)
FileArgs = tuple[int, SiteT, int]


def file_op(sess: Sess, ts: int, x: FileArgs, r: int) -> dict[str, Any]:
    """One file operation by the session's person on a file of ``site``."""
    op, site, n = x
    pt, dev = sess.pt, sess.dev
    assert pt is not None and dev is not None
    f = site.files[n % len(site.files)]
    name = f.name
    operation = FILE_OPS[op]
    ua = _SYNC_UA.get(dev.os, dev.user_agent) if op == 4 else dev.user_agent
    rec: dict[str, Any] = {
        "SiteUrl": site.url,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "CreationTime": creation_time(ts),
        "ListId": site.list_id,
        "SourceRelativeUrl": f.folder,
        "RecordType": 6,
        "UserId": pt.upn,
        "SourceFileExtension": f.ext,
        "UserType": 0,
        "EventSource": "SharePoint",
        "UserAgent": ua,
        "ClientIP": sess.ip6 if sess.ip6 is not None and (r >> 40) % 3 == 0 else sess.ip,
        "CorrelationId": correlation(sess, r),
        "Workload": site.workload,
        "ObjectId": f.object_id,
        "WebId": site.web_id,
        "SourceFileName": name,
        "UserKey": pt.sp_key,
        "ItemType": "File",
        "ListItemUniqueId": f.item_id,
        "Site": site.site_id,
        "Version": 1,
        "Operation": operation,
        "Id": guid(r),
    }
    if op == 3:
        rec["ImplicitShare"] = "No"
    elif op == 5:
        stem, _, ext = name.rpartition(".")
        rec["DestinationFileName"] = f"{stem} (final).{ext}"
        rec["DestinationFileExtension"] = ext
        rec["DestinationRelativeUrl"] = f.folder
    return rec


FILE_OP = Kind("file_op", file_op, SHAREPOINT)

# (operation index, site, file index, colleague index for internal shares, external?)
ShareArgs = tuple[int, SiteT, int, int, bool]


def share(sess: Sess, ts: int, x: ShareArgs, r: int) -> dict[str, Any]:
    """A sharing change on a file: a link, an invitation, or a grant to a colleague."""
    op, site, n, colleague, external = x
    pt, dev = sess.pt, sess.dev
    assert pt is not None and dev is not None
    f = site.files[n % len(site.files)]
    url = site.url.rstrip("/")
    link = derive(r, 13)
    rec: dict[str, Any] = {
        "Site": site.site_id,
        "ItemType": "File",
        "UserKey": pt.sp_key,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "Operation": SHARE_OPS[op],
        "EventData": "<Type>Edit</Type>",
        "ListId": site.list_id,
        "RecordType": 14,
        "Version": 1,
        "WebId": site.web_id,
        "UserAgent": dev.user_agent,
        "CorrelationId": correlation(sess, r),
        "ListItemUniqueId": f.item_id,
        "ObjectId": f.object_id,
        "SourceFileName": f.name,
        "SiteUrl": url,
        "ClientIP": sess.ip,
        "SourceFileExtension": f.ext,
        "Workload": site.workload,
        "SourceRelativeUrl": f"{f.folder}/{f.name}",
        "EventSource": "SharePoint",
        "UserId": pt.upn,
        "CreationTime": creation_time(ts),
        "Id": guid(r),
        "UserType": 0,
    }
    if op == 3:  # AnonymousLinkCreated names no target
        rec["UniqueSharingId"] = link
        return rec
    if external:
        domain = EXTERNAL_DOMAINS[(r >> 30) % len(EXTERNAL_DOMAINS)]
        local = sess.tt.people[colleague].person.last_name.lower().replace(" ", "")
        who, kind = f"{local}{(r >> 36) % 90 + 10}@{domain}".upper(), "Guest"
    else:
        who, kind = sess.tt.people[colleague].upn, "Member"
    if op == 0:
        if (r >> 50) % 2:  # a sharing link becomes a SharePoint group on the file
            who = f"SharingLinks.{f.item_id}.OrganizationEdit.{link}"
            kind = "SharePointGroup"
        rec["EventData"] = "<Permissions granted>Contribute</Permissions granted>"
    elif op == 1:
        rec["UniqueSharingId"] = link
        rec["EventData"] = "<Type>Edit</Type><MembersCanShareApplied>False</MembersCanShareApplied>"
    else:
        rec["EventData"] = "<Type>View</Type>"
    rec["TargetUserOrGroupName"] = who
    rec["TargetUserOrGroupType"] = kind
    return rec


SHARE = Kind("share", share, SHAREPOINT)

_SENSITIVE = (
    ("U.S. Financial Data", "cb353f78-2b72-4c3c-8827-92ebe4f69fdf", "Credit Card Number"),
    ("U.K. Financial Data", "50842eb7-edc8-4019-85dd-5a5c1f2bb085", "IBAN"),
    ("PII Data", "a44669fe-0d48-453d-a9b1-2cc83f2cba77", "U.S. Social Security Number (SSN)"),
)


def dlp_policy(r: int, location: str | None) -> list[dict[str, Any]]:
    """``PolicyDetails`` of one DLP match (shared by the SharePoint and Exchange records)."""
    policy, sensitive, _label = _SENSITIVE[(r >> 20) % len(_SENSITIVE)]
    count = (r >> 24) % 40 + 1
    high = count >= 10
    info: dict[str, Any] = {"Count": count, "Confidence": 85 if high else 75}
    if location is not None:
        info.update(UniqueCount=max(1, count // 2), Location=location)
    info["SensitiveType"] = sensitive
    actions = ["BlockAccess", "NotifyUser", "GenerateIncidentReport"] if high else ["NotifyUser"]
    rule = {
        "Severity": "High" if high else "Low",
        "RuleId": derive(r, 28),
        "ConditionsMatched": {"SensitiveInformation": [info]},
        "Actions": actions,
        "RuleName": f"{'High' if high else 'Low'} volume of content detected {policy}",
        "ActionParameters": ["GenerateIncidentReport:SiteAdmin"] if high else [],
        "RuleMode": "Enable",
    }
    return [{"Rules": [rule], "PolicyName": policy, "PolicyId": derive(r, 32)}]


def dlp_file(sess: Sess, ts: int, x: tuple[SiteT, int], r: int) -> dict[str, Any]:
    """A DLP rule match on a document the session's person just saved."""
    site, n = x
    pt = sess.pt
    assert pt is not None
    f = site.files[n % len(site.files)]
    agent = (
        "DlpPolicyEventBasedAssistantOneDriveForBusiness"
        if site.workload == "OneDrive"
        else "DLPAgent"
    )
    created = creation_time(ts - 86_400 * ((r >> 60) % 200 + 1))
    return {
        "Workload": site.workload,
        "SensitiveInfoDetectionIsIncluded": False,
        "ObjectId": f.item_id,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "UserId": agent,
        "CreationTime": creation_time(ts),
        "UserType": 4,
        "Version": 1,
        "PolicyDetails": dlp_policy(r, None),
        "SharePointMetaData": {
            "From": pt.upn.upper(),
            "FilePathUrl": f.object_id.replace(" ", "%20"),
            "ItemLastModifiedTime": creation_time(ts - 30),
            "ItemCreationTime": created,
            "FileName": f.name,
            "SiteCollectionGuid": site.site_id,
            "UniqueID": f.item_id,
            "FileOwner": site.owner,
            "SiteCollectionUrl": site.url.rstrip("/"),
        },
        "UserKey": agent,
        "Operation": "DLPRuleMatch",
        "IncidentId": derive(r, 5),
        "Id": guid(r),
        "RecordType": 11,
    }


DLP_FILE = Kind("dlp_file", dlp_file, DLP)
