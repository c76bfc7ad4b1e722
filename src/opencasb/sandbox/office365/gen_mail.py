"""Exchange records: admin cmdlets (RecordType 1), mailbox items (2: ``Send``, ``SendAs``),
item groups (3: ``MoveToDeletedItems``, ``SoftDelete``, ``HardDelete`` — the schema files
multi-item deletes under ExchangeItemGroup), ``MailItemsAccessed`` (50) and DLP matches on
mail (13). Shapes follow the beats samples and research §2.5 (e)-(g): ``Parameters`` values
are always strings, ``OriginatingServer`` may end with a newline, ``ClientIP`` often carries
a port.
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.office365.gen_core import DLP, EXCHANGE, Kind, Sess, client_ip
from opencasb.sandbox.office365.gen_files import EXTERNAL_DOMAINS, dlp_policy
from opencasb.sandbox.office365.gen_ids import creation_time, derive, guid, mix
from opencasb.sandbox.office365.gen_tenant import PersonT

__all__ = ["ADMIN", "DLP_MAIL", "ITEM", "ITEM_GROUP", "MAIL_ACCESS"]

_SUBJECTS = (
    "Re: Q3 planning", "Weekly sync notes", "Invoice attached", "Re: Contract review",
    "Lunch on Friday?", "Updated roadmap", "Fwd: Customer escalation", "Action items",
    "Re: Budget approval", "Interview schedule", "Travel itinerary", "Re: Design review",
    "Out of office", "Board pack draft", "Re: Release go/no-go", "Welcome aboard!",
)  # fmt: skip
_CLIENTS = (
    "Client=OWA;Action=ViaProxy",
    "Client=MSExchangeRPC",
    "Client=REST;Client=RESTSystem;;",
    "Client=OutlookService;Outlook-iOS/2.0;",
)
_FOLDERS = ("\\Inbox", "\\Inbox", "\\Sent Items", "\\Archive", "\\Inbox\\Projects")
_servers: dict[int, tuple[str, str]] = {}


def _server(pt: PersonT) -> tuple[str, str]:
    """The person's mailbox server: (``OriginatingServer`` text, host prefix)."""
    got = _servers.get(pt.index)
    if got is None:
        h = mix(pt.index, 0xE8C)
        site = ("AM6", "DB7", "BN8", "CH2", "SA1")[h % 5]
        host = f"{site}PR{h >> 8 & 0xF:02d}MB{h >> 12 & 0xFFFF:04d}"
        text = f"{host} (15.20.{8000 + (h >> 30) % 900}.{(h >> 40) % 40:03d})"
        if h >> 50 & 1:
            text += "\n"  # as some real records write it
        got = _servers[pt.index] = (text, host)
    return got


def _message_id(r: int, host: str) -> str:
    return f"<{r & 0xFFFFFFFFFFFFFFFFFFFF:020X}@{host}.prod.exchangelabs.com>"


def _base(sess: Sess, pt: PersonT) -> dict[str, Any]:
    """The constant fields of records about ``pt``'s mailbox (built once per person)."""
    base: dict[str, Any] | None = pt.cache.get("mailbox")
    if base is None:
        base = pt.cache["mailbox"] = {
            "OrganizationName": sess.tt.tenant.initial_domain,
            "UserKey": pt.puid,
            "MailboxGuid": pt.mailbox,
            "OrganizationId": sess.tt.tenant.tenant_id,
            "Operation": "",
            "ClientIPAddress": "",
            "LogonUserSid": pt.owner_sid,
            "OriginatingServer": _server(pt)[0],
            "RecordType": 2,
            "Version": 1,
            "ClientInfoString": "",
            "MailboxOwnerUPN": pt.upn,
            "MailboxOwnerMasterAccountSid": "S-1-5-10",
            "MailboxOwnerSid": pt.owner_sid,
            "ResultStatus": "Succeeded",
            "ExternalAccess": False,
            "LogonType": 0,
            "ClientIP": "",
            "Workload": "Exchange",
            "InternalLogonType": 0,
            "UserId": pt.upn,
            "CreationTime": "",
            "Id": "",
            "UserType": 0,
        }
        host = _server(pt)[1]
        pt.cache["folders"] = {
            path: f"LgAAAAD{mix(pt.index, len(path), k):016X}AQAAAAB"
            for k, path in enumerate((*_FOLDERS, "\\Deleted Items"))
        }
        pt.cache["item_id"] = f"BwC{pt.mailbox[:8].upper()}AAAAAAEMAAAJ"
        pt.cache["host"] = host
    return base


def _mailbox(sess: Sess, pt: PersonT, ts: int, r: int, op: str, rt: int) -> dict[str, Any]:
    """The fields every mailbox-audit record of ``pt``'s own mailbox carries."""
    actor = sess.pt
    assert actor is not None
    rec = _base(sess, pt).copy()
    ip = client_ip(sess, r, True)
    rec["Operation"] = op
    # ClientIPAddress is the bare address (the ClientIP of Exchange often has a port).
    rec["ClientIPAddress"] = (
        sess.ip if ":" in ip and "." in ip else ip.partition("]")[0].lstrip("[")
    )
    rec["RecordType"] = rt
    rec["ClientInfoString"] = _CLIENTS[(r >> 20) % len(_CLIENTS)]
    rec["ClientIP"] = ip
    rec["CreationTime"] = creation_time(ts)
    rec["Id"] = guid(r)
    if actor is not pt:  # a delegate acting on someone else's mailbox
        rec["UserKey"], rec["LogonUserSid"], rec["UserId"] = actor.puid, actor.owner_sid, actor.upn
        rec["LogonType"] = 2
    return rec


def _item(pt: PersonT, r: int, folder: str) -> dict[str, Any]:
    cache = pt.cache
    item: dict[str, Any] = {
        "InternetMessageId": _message_id(r >> 3, cache["host"]),
        "IsRecord": False,
        "Id": f"RgAAAAD{r >> 16 & 0xFFFFFFFFFFFFFFFFFFFFFFFF:024X}{cache['item_id']}",
        "ParentFolder": {"Path": folder, "Id": cache["folders"][folder]},
        "Subject": _SUBJECTS[(r >> 24) % len(_SUBJECTS)],
        "SizeInBytes": 2_000 + (r >> 32) % 400_000,
    }
    if (r >> 60) % 5 == 0:
        item["Attachments"] = f"report.pdf ({(r >> 40) % 900_000 + 1000}b)"
    return item


def item(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """``Send`` (``x`` = -1) or ``SendAs`` on behalf of person ``x``'s mailbox."""
    actor = sess.pt
    assert actor is not None
    owner = actor if x < 0 else sess.tt.people[x]
    rec = _mailbox(sess, owner, ts, r, "Send" if x < 0 else "SendAs", 2)
    rec["Item"] = _item(owner, r, "\\Sent Items")
    if x >= 0:
        rec["SendAsUserSmtp"] = owner.upn
        rec["SendAsUserMailboxGuid"] = owner.mailbox
    return rec


ITEM = Kind("mail_item", item, EXCHANGE)
_GROUP_OPS = ("MoveToDeletedItems", "SoftDelete", "HardDelete")


def item_group(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """Deleting ``1..3`` messages (``x`` indexes ``_GROUP_OPS``)."""
    pt = sess.pt
    assert pt is not None
    rec = _mailbox(sess, pt, ts, r, _GROUP_OPS[x], 3)
    src = _FOLDERS[(r >> 28) % len(_FOLDERS)] if x != 2 else "\\Deleted Items"
    folders = pt.cache["folders"]
    rec["Folder"] = {"Id": folders[src], "Path": src}
    if x == 0:
        rec["DestFolder"] = {"Id": folders["\\Deleted Items"], "Path": "\\Deleted Items"}
    rec["AffectedItems"] = [_item(pt, r >> k, src) for k in range(1 + (r >> 56) % 3)]
    rec["CrossMailboxOperation"] = False
    return rec


ITEM_GROUP = Kind("mail_item_group", item_group, EXCHANGE)


def mail_access(sess: Sess, ts: int, x: bool, r: int) -> dict[str, Any]:
    """``MailItemsAccessed``: a sync of a folder (``x`` true) or binds of a few messages."""
    pt = sess.pt
    assert pt is not None
    rec = _mailbox(sess, pt, ts, r, "MailItemsAccessed", 50)
    del rec["ClientIP"]  # aggregated records name the address ClientIPAddress only
    path = _FOLDERS[(r >> 28) % 2]
    n = 1 if x else 1 + (r >> 52) % 4
    host = pt.cache["host"]
    items = [
        {
            "Id": f"RgAAAAD{(r >> k) & 0xFFFFFFFFFFFFFFFF:016X}AAAAJ",
            "InternetMessageId": _message_id(r >> (k + 1), host),
            "SizeInBytes": 2_000 + (r >> (k + 8)) % 200_000,
        }
        for k in range(n)
    ]
    rec["OperationProperties"] = [
        {"Name": "MailAccessType", "Value": "Sync" if x else "Bind"},
        {"Name": "IsThrottled", "Value": "False"},
    ]
    rec["OperationCount"] = n
    rec["Folders"] = [{"Id": pt.cache["folders"][path], "Path": path, "FolderItems": items}]
    return rec


MAIL_ACCESS = Kind("mail_access", mail_access, EXCHANGE)

# (operation, person the cmdlet is about, variant)
AdminArgs = tuple[str, int, int]
_RULES = (
    [("Name", "Newsletters"), ("FromAddressContainsWords", "newsletter"),
     ("MoveToFolder", "Newsletters"), ("StopProcessingRules", "True")],
    [("Name", "Jira notifications"), ("SubjectContainsWords", "[JIRA]"),
     ("MoveToFolder", "Jira"), ("MarkAsRead", "True")],
    [("Name", "Receipts"), ("FromAddressContainsWords", "receipts;noreply"),
     ("MoveToFolder", "Receipts"), ("StopProcessingRules", "True")],
)  # fmt: skip
# Everyday rules are benign by construction: hiding payment mail in RSS Subscriptions or
# forwarding outside is what an attacker does (sandbox/scenarios/data.py plants those).


def _colleague(sess: Sess, who: int, variant: int) -> PersonT:
    people = sess.tt.people
    k = (who + 1 + variant % max(1, len(people) - 1)) % len(people)
    return people[k]


def exchange_admin(sess: Sess, ts: int, x: AdminArgs, r: int) -> dict[str, Any]:
    """A cmdlet: a person's own inbox rule or mailbox setting, or an admin's change."""
    op, who, variant = x
    actor = sess.pt
    assert actor is not None
    target = sess.tt.people[who]
    tenant = sess.tt.tenant
    hosted = (
        f"NAMPR{_server(target)[1][5:7]}A001.prod.outlook.com/"
        f"Microsoft Exchange Hosted Organizations/{tenant.initial_domain}"
    )
    mailbox = f"{hosted}/{target.upn.split('@')[0]}"
    params: list[tuple[str, str]]
    if op in ("New-InboxRule", "Set-InboxRule"):
        params = list(_RULES[variant % len(_RULES)])
        if variant >= len(_RULES):  # forwarding to a colleague (cover while away)
            colleague = _colleague(sess, who, variant)
            params = [
                ("Name", f"Forward to {colleague.person.first_name}"),
                ("ForwardTo", colleague.upn),
            ]
        params += [("AlwaysDeleteOutlookRulesBlob", "False"), ("Force", "False")]
        object_id = f"{mailbox}\\{params[0][1]}"
        if op == "Set-InboxRule":
            params = [("Identity", object_id), *params[1:]]
    elif op == "Set-Mailbox":
        object_id = mailbox
        if variant % 2:  # forwarding outside: only the labelled scenarios do this
            domain = EXTERNAL_DOMAINS[variant % len(EXTERNAL_DOMAINS)]
            extra = [("ForwardingSmtpAddress", f"smtp:{target.person.first_name.lower()}@{domain}"),
                     ("DeliverToMailboxAndForward", "True")]  # fmt: skip
        elif variant >= 8:  # forwarding to a colleague, keeping a copy
            extra = [("ForwardingSmtpAddress", f"smtp:{_colleague(sess, who, variant).upn}"),
                     ("DeliverToMailboxAndForward", "True")]  # fmt: skip
        else:
            extra = [("LitigationHoldEnabled", "True")]
        params = [("Identity", target.upn), *extra]
    else:  # Add-MailboxPermission
        delegate = sess.tt.people[variant % len(sess.tt.people)]
        object_id = mailbox
        params = [("Identity", target.upn), ("User", delegate.upn), ("AccessRights", "FullAccess"),
                  ("InheritanceType", "All"), ("AutoMapping", "True")]  # fmt: skip
    admin = actor is not target
    return {
        "OriginatingServer": _server(target)[0].rstrip("\n"),
        "ClientAppId": "",
        "OrganizationName": tenant.initial_domain,
        "ObjectId": object_id,
        "Parameters": [{"Name": k, "Value": v} for k, v in params],
        "Workload": "Exchange",
        "OrganizationId": tenant.tenant_id,
        "CreationTime": creation_time(ts),
        "AppId": "",
        "UserId": actor.upn,
        "UserType": 2 if admin else 0,
        "Version": 1,
        "ResultStatus": "True",
        "ExternalAccess": False,
        "UserKey": actor.puid,
        "Operation": op,
        "Id": guid(r),
        "RecordType": 1,
        "ClientIP": client_ip(sess, r, True),
    }


ADMIN = Kind("exchange_admin", exchange_admin, EXCHANGE)


def dlp_mail(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """A DLP match on a message the session's person sent outside (``x`` picks the domain)."""
    pt = sess.pt
    assert pt is not None
    message = _message_id(r >> 3, _server(pt)[1])
    domain = EXTERNAL_DOMAINS[x % len(EXTERNAL_DOMAINS)]
    return {
        "Workload": "Exchange",
        "SensitiveInfoDetectionIsIncluded": False,
        "ObjectId": message,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "CreationTime": creation_time(ts),
        "UserId": "DlpAgent",
        "UserType": 4,
        "Version": 1,
        "PolicyDetails": dlp_policy(r, "Message Body"),
        "ExchangeMetaData": {
            "From": pt.upn,
            "CC": [],
            "BCC": [],
            "To": [f"{pt.person.last_name.lower().replace(' ', '')}@{domain}"],
            "FileSize": 4_000 + (r >> 40) % 90_000,
            "UniqueID": derive(r, 7),
            "MessageID": message,
            "RecipientCount": 1,
            "Sent": creation_time(ts - 1),
            "Subject": _SUBJECTS[(r >> 24) % len(_SUBJECTS)],
        },
        "UserKey": str(int(pt.puid, 16)),
        "Operation": "DlpRuleMatch",
        "IncidentId": derive(r, 5),
        "Id": guid(r),
        "RecordType": 13,
    }


DLP_MAIL = Kind("dlp_mail", dlp_mail, DLP)
