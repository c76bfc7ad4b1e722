"""The Audit.General workloads: Teams (RecordType 25), Power BI (20), Dynamics 365 (21),
Yammer (22), Power Automate (30), Forms (66) and Security & Compliance alerts (40).

Teams, Yammer and alert records copy the beats samples' shapes; the others, which the samples
lack, follow Microsoft's documented schemas for their workloads. Forms is RecordType 66
(``MicrosoftForms`` in the AuditLogRecordType enum, research §2.2).
"""

from __future__ import annotations

import json
from typing import Any

from opencasb.sandbox.office365.gen_core import GENERAL, Kind, Sess, client_ip
from opencasb.sandbox.office365.gen_ids import creation_time, derive, guid, mix, stable_guid

__all__ = ["ALERT", "CRM", "FLOW", "FORMS", "POWERBI", "TEAMS", "YAMMER"]


def _base(sess: Sess, ts: int, r: int, op: str, rt: int, workload: str) -> dict[str, Any]:
    pt = sess.pt
    assert pt is not None
    return {
        "CreationTime": creation_time(ts),
        "Id": guid(r),
        "Operation": op,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "RecordType": rt,
        "UserKey": pt.oid,
        "UserType": 0,
        "Version": 1,
        "Workload": workload,
        "UserId": pt.upn,
    }


_TEAMS_OPS = ("TeamsSessionStarted", "MessageSent", "TeamCreated", "MemberAdded")


def teams(sess: Sess, ts: int, x: tuple[int, int], r: int) -> dict[str, Any]:
    """``x`` = (operation index, department whose team it is about)."""
    op, d = x
    pt = sess.pt
    assert pt is not None
    dept = sess.tt.depts[d]
    rec = _base(sess, ts, r, _TEAMS_OPS[op], 25, "MicrosoftTeams")
    if op == 0:
        rec["ObjectId"] = "Unknown (Unknown)"
    elif op == 1:
        channel = (r >> 20) % 3 == 0
        rec["ClientIP"] = client_ip(sess, r, False)
        rec["ChatThreadId"] = (
            dept.team_guid if channel else f"19:{pt.oid}_{derive(r, 30)}@unq.gbl.spaces"
        )
        rec["CommunicationType"] = "Team" if channel else ("OneOnOne", "GroupChat")[(r >> 24) % 2]
        rec["MessageId"] = str(ts * 1000 + (r >> 40) % 1000)
        rec["ParticipantInfo"] = {
            "HasForeignTenantUsers": False,
            "HasGuestUsers": False,
            "HasOtherGovernmentUsers": False,
            "HasUnauthenticatedUsers": False,
        }
        rec["ResourceTenantId"] = sess.tt.tenant.tenant_id
        if channel:
            rec["TeamGuid"], rec["TeamName"] = dept.team_guid, dept.team_name
    elif op == 2:
        rec["UserType"] = 2
        rec["TeamGuid"], rec["TeamName"] = dept.team_guid, dept.team_name
    else:
        people = sess.tt.people
        n = len(dept.members)
        members = [people[dept.members[(r >> (8 * k)) % n]] for k in range(1 + (r >> 60) % 3)]
        rec["AADGroupId"] = dept.unified_id
        rec["CommunicationType"] = "Team"
        rec["Members"] = [{"DisplayName": m.name, "Role": 1, "UPN": m.upn} for m in members]
        rec["TeamGuid"] = dept.team_guid
        rec["ItemName"] = dept.team_name
        rec["TeamName"] = dept.team_name
    return rec


TEAMS = Kind("teams", teams, GENERAL)
_REPORTS = ("Sales pipeline", "Revenue by region", "Support backlog", "Headcount", "Spend")
_PBI_OPS = ("ViewReport", "ViewDashboard", "ExportReport")


def powerbi(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """A Power BI report viewed or exported (``x`` indexes the operation)."""
    pt, dev = sess.pt, sess.dev
    assert pt is not None and dev is not None
    op = _PBI_OPS[x]
    k = (r >> 20) % len(_REPORTS)
    report, workspace = _REPORTS[k], f"{sess.tt.depts[pt.dept].name} analytics"
    report_id = stable_guid(sess.tt.org.seed, 0x9B1, k)
    rec = _base(sess, ts, r, op, 20, "PowerBI")
    rec.update(
        UserKey=pt.puid,
        ClientIP=client_ip(sess, r, False),
        UserAgent=dev.user_agent,
        Activity=op,
        ItemName=report,
        WorkSpaceName=workspace,
        DatasetName=report,
        ReportName=report,
        WorkspaceId=stable_guid(sess.tt.org.seed, 0x9B2, pt.dept),
        ObjectId=report,
        DatasetId=stable_guid(sess.tt.org.seed, 0x9B3, k),
        ReportId=report_id,
        IsSuccess=True,
        ReportType="PowerBIReport",
        RequestId=derive(r, 9),
        ActivityId=derive(r, 13),
        DistributionMethod="Workspace",
        ConsumptionMethod="Power BI Web",
    )
    return rec


POWERBI = Kind("powerbi", powerbi, GENERAL)
_ENTITIES = ("account", "contact", "opportunity", "incident", "lead")
_CRM_OPS = ("Retrieve", "RetrieveMultiple", "Update", "Create", "ExportToExcel")


def crm(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """A Dynamics 365 (CRM) data access (``x`` indexes the message)."""
    pt, dev = sess.pt, sess.dev
    assert pt is not None and dev is not None
    op = _CRM_OPS[x]
    entity = _ENTITIES[(r >> 20) % len(_ENTITIES)]
    slug = sess.tt.tenant.initial_domain.split(".")[0]
    instance = f"https://{slug}.crm.dynamics.com"
    record = derive(r, 24)
    url = f"{instance}/main.aspx?etn={entity}&id={record}&pagetype=entityrecord"
    rec = _base(sess, ts, r, op, 21, "CRM")
    rec.update(
        UserKey=pt.puid,
        ClientIP=client_ip(sess, r, False),
        ObjectId=url,
        CorrelationId=derive(r, 9),
        CrmOrganizationUniqueName=f"org{mix(sess.tt.org.seed, 0xC2) % 0xFFFFFF:06x}",
        EntityId=record,
        EntityName=entity,
        Fields=[],
        InstanceUrl=instance,
        ItemType=entity,
        ItemUrl=url,
        Message=op,
        PrimaryFieldValue="",
        Query="" if x != 1 else f"<fetch><entity name='{entity}'/></fetch>",
        QueryResults="" if x != 1 else str((r >> 40) % 200),
        ServiceContextId=derive(r, 15),
        ServiceContextIdType="UserIdentity",
        ServiceName="OrganizationServiceInternal",
        SystemUserId=stable_guid(sess.tt.org.seed, 0xC4, pt.index),
        UserAgent=dev.user_agent,
        UserUpn=pt.upn,
    )
    return rec


CRM = Kind("crm", crm, GENERAL)


def yammer(sess: Sess, ts: int, x: str, r: int) -> dict[str, Any]:
    """A Yammer (Viva Engage) community created, named ``x``."""
    pt = sess.pt
    assert pt is not None
    seed = sess.tt.org.seed
    return {
        "ObjectId": x,
        "Id": guid(r),
        "CreationTime": creation_time(ts),
        "UserKey": pt.puid.lower(),
        "YammerNetworkId": 5_000_000_000 + mix(seed, 0x7A) % 900_000_000,
        "Operation": "GroupCreation",
        "ClientIP": client_ip(sess, r, True),
        "ActorYammerUserId": 30_000_000_000 + mix(seed, pt.index, 0x7B) % 9_000_000_000,
        "UserType": 0,
        "ResultStatus": "TRUE",
        "RecordType": 22,
        "Workload": "Yammer",
        "Version": 1,
        "GroupName": x,
        "OrganizationId": sess.tt.tenant.tenant_id,
        "UserId": pt.upn,
        "ActorUserId": pt.upn,
    }


YAMMER = Kind("yammer", yammer, GENERAL)
_FLOW_OPS = ("CreateFlow", "EditFlow", "DeleteFlow")
_CONNECTORS = (
    "Office 365 Outlook, SharePoint",
    "Microsoft Teams, Approvals",
    "OneDrive for Business",
)


def flow(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """A Power Automate flow created, edited or deleted."""
    pt = sess.pt
    assert pt is not None
    tenant = sess.tt.tenant.tenant_id
    flow_id = guid(mix(pt.index, (r >> 20) % 3, 0xF10) << 64 | pt.index)
    rec = _base(sess, ts, r, _FLOW_OPS[x], 30, "MicrosoftFlow")
    rec.update(
        ResultStatus="Succeeded",
        UserKey=pt.puid,
        ObjectId=flow_id,
        FlowConnectorNames=_CONNECTORS[(r >> 20) % 3],
        FlowDetailsUrl=f"https://make.powerautomate.com/manage/environments/Default-{tenant}"
        f"/flows/{flow_id}/details",
        LicenseDisplayName="Microsoft 365 E3",
        RecipientUPN="",
        SharingPermission=0,
        UserTypeInitiated=1,
        UserUPN=pt.upn,
    )
    return rec


FLOW = Kind("flow", flow, GENERAL)
_FORM_OPS = ("CreateForm", "EditForm", "ViewForm", "ViewResponses")
_FORMS = ("Team offsite survey", "Training feedback", "Event registration", "Lunch poll")


def forms(sess: Sess, ts: int, x: int, r: int) -> dict[str, Any]:
    """A Microsoft Forms activity (``x`` indexes the operation)."""
    pt = sess.pt
    assert pt is not None
    k = (r >> 20) % len(_FORMS)
    form_id = f"{stable_guid(pt.index, k, 0xF0).replace('-', '')[:24]}AAAAAA"
    rec = _base(sess, ts, r, _FORM_OPS[x], 66, "MicrosoftForms")
    rec.update(
        UserKey=pt.puid,
        ClientIP=client_ip(sess, r, False),
        ObjectId=f"https://forms.office.com/Pages/DesignPageV2.aspx?id={form_id}",
        FormsUserTypes=["Owner"] if x != 2 else ["Responder"],
        SourceApp="Microsoft Forms website",
        FormName=_FORMS[k],
        FormId=form_id,
        FormTypes=["Form"],
        ActivityParameters=json.dumps({"FormName": _FORMS[k]}),
    )
    return rec


FORMS = Kind("forms", forms, GENERAL)

# (name, category, severity, operation, description)
ALERTS = (
    ("Creation of forwarding/redirect rule", "ThreatManagement", "Informational",
     "NewInboxRule", "This alert is triggered when someone in your organization creates an "
     "inbox rule that forwards or redirects messages to another email account."),
    ("Elevation of Exchange admin privilege", "AccessGovernance", "Low", "GrantAdminPermission",
     "This alert is triggered when someone in your organization becomes an Exchange admin or "
     "gets new Exchange admin permissions"),
    ("Email messages containing malicious URL removed after delivery", "ThreatManagement",
     "Informational", "ZapMailUrl", "Emails containing a malicious URL were delivered and "
     "later removed"),
)  # fmt: skip


def alert(sess: Sess, ts: int, x: tuple[int, int, bool, int], r: int) -> dict[str, Any]:
    """``AlertTriggered`` (``x[2]`` false) or ``AlertEntityGenerated`` about person ``x[1]``;
    ``x[3]`` is the alert's own random bits (both records of one alert name one AlertId)."""
    which, who, entity, key = x
    name, category, severity, op, description = ALERTS[which]
    tenant = sess.tt.tenant.tenant_id
    upn = sess.tt.people[who].upn
    alert_id = guid(key)
    policy = stable_guid(which, 0xA70)
    when = creation_time(ts - 300)[:19] + ".0000000Z"
    data: dict[str, str] = {"f3u": upn, "ts": when, "te": when, "op": op, "tid": tenant}
    if entity:
        data = {"etype": "User", "eid": upn, **data, "ut": "Regular"}
    else:
        data.update(ad=f"{description} -V1.0.0.1", an=name, sev=severity)
    return {
        "Status": "Active",
        "Category": category,
        "ResultStatus": "Succeeded",
        "ObjectId": upn if entity else alert_id,
        "Comments": "New alert",
        "UserKey": "SecurityComplianceAlerts",
        "AlertLinks": [{"AlertLinkHref": ""}],
        "Data": json.dumps(data, separators=(",", ":")),
        "Severity": severity,
        "Operation": "AlertEntityGenerated" if entity else "AlertTriggered",
        "OrganizationId": tenant,
        "Source": "Office 365 Security & Compliance",
        "Workload": "SecurityComplianceCenter",
        "Name": name,
        "AlertType": "System",
        "AlertId": alert_id,
        "RecordType": 40,
        "Version": 1,
        "UserId": "SecurityComplianceAlerts",
        "CreationTime": creation_time(ts),
        "Id": guid(r),
        "UserType": 4,
        "PolicyId": policy,
        **({"AlertEntityId": upn, "EntityType": "User"} if entity else {}),
    }


ALERT = Kind("alert", alert, GENERAL)
