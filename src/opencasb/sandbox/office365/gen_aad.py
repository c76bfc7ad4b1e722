"""Azure AD records: sign-ins (RecordType 15, ``UserLoggedIn`` / ``UserLoginFailed``) and
directory changes made by admins (RecordType 8), in the shapes of the 2021 sample records
(``ErrorNumber`` as a string, ``IntraSystemId`` equal to ``Id``, ``Actor``/``Target`` lists
with Azure AD's identity types) plus the documented ``LogonError`` and ``DeviceProperties``.
"""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.office365.audit import property_change
from opencasb.sandbox.office365.gen_core import AAD, Kind, Sess, correlation
from opencasb.sandbox.office365.gen_ids import creation_time, derive, guid
from opencasb.sandbox.office365.gen_tenant import DevT, PersonT
from opencasb.sandbox.org.people import FIRST_NAMES, LAST_NAMES

__all__ = ["APPS", "DIRECTORY", "ERRORS", "SIGN_IN", "DirArgs"]

# (client application id, resource id, RequestType, UserAuthenticationMethod): the
# first-party apps people sign in to all day (well-known public application ids).
APPS: tuple[tuple[str, str, str, str], ...] = (
    # 0: the browser sign-in to office.com
    ("4765445b-32c6-49b0-83e6-1d93765276ca", "00000003-0000-0000-c000-000000000000",
     "Login:login", "1"),
    # 1-5: token refreshes of the desktop and mobile apps
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
     "OAuth2:Token", "9"),
    ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "00000002-0000-0ff1-ce00-000000000000",
     "OAuth2:Token", "9"),
    ("ab9b8c07-8f02-4f72-87fa-80105867a763", "00000003-0000-0ff1-ce00-000000000000",
     "OAuth2:Token", "9"),
    ("27922004-5251-4030-b22d-91ecd9a37ea4", "00000002-0000-0ff1-ce00-000000000000",
     "OAuth2:Token", "9"),
    ("89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "00000002-0000-0000-c000-000000000000",
     "OAuth2:Authorize", "9"),
    # 6: the Azure portal (admins)
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "797f4846-ba00-4fd7-ba43-dac1f8f63013",
     "OAuth2:Authorize", "1"),
)  # fmt: skip
# AADSTS error number -> (LogonError, ResultStatus, ResultStatusDetail). Interrupts (MFA
# asked, "keep me signed in" asked) are UserLoginFailed with ResultStatus "Success", as the
# service writes them (beats-25 sample; research §2.5 (b)).
ERRORS: dict[int, tuple[str, str, str]] = {
    0: ("", "Success", "Success"),
    50126: ("InvalidUserNameOrPassword", "Failed", "UserError"),
    50074: ("UserStrongAuthClientAuthNRequiredInterrupt", "Success", "Success"),
    50076: ("UserStrongAuthClientAuthNRequired", "Failed", "UserError"),
    50140: ("KmsiInterrupt", "Success", "Success"),
    50053: ("IdsLocked", "Failed", "UserError"),
    50055: ("InvalidPasswordExpiredPassword", "Failed", "UserError"),
}


def _ext(dev: DevT | None, detail: str, request: str, method: str, kmsi: str) -> list[Any]:
    if dev is None:
        return []
    key = (detail, request, kmsi, method)
    ext = dev.ext.get(key)
    if ext is None:
        ext = dev.ext[key] = [
            {"Name": "ResultStatusDetail", "Value": detail},
            {"Name": "UserAgent", "Value": dev.user_agent},
            {"Name": "UserAuthenticationMethod", "Value": method},
            {"Name": "RequestType", "Value": request},
            {"Name": "KeepMeSignedIn", "Value": kmsi},
        ]
    return ext


_TARGETS: dict[str, list[dict[str, Any]]] = {}


def sign_in(sess: Sess, ts: int, x: tuple[int, int], r: int) -> dict[str, Any]:
    """``x`` = (index into :data:`APPS`, AADSTS error number or 0)."""
    app, error = x
    pt = sess.pt
    assert pt is not None
    client, resource, request, method = APPS[app]
    logon_error, status, detail = ERRORS[error]
    if error == 0 and request != "OAuth2:Token" and (r >> 52) % 3 == 0:
        detail = "Redirect"
    tenant = sess.tt.tenant.tenant_id
    rid = guid(r)
    target = _TARGETS.get(resource)
    if target is None:
        target = _TARGETS[resource] = [{"ID": resource, "Type": 0}]
    ip = sess.ip6 if sess.ip6 is not None and (r >> 40) % 3 == 0 else sess.ip
    rec: dict[str, Any] = {
        "CreationTime": creation_time(ts),
        "Id": rid,
        "Operation": "UserLoginFailed" if error else "UserLoggedIn",
        "OrganizationId": tenant,
        "RecordType": 15,
        "ResultStatus": status,
        "UserKey": pt.oid,
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": ip,
        "ObjectId": resource,
        "UserId": pt.upn,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": _ext(
            sess.dev, detail, request, method, "True" if (r >> 56) % 4 == 0 else "False"
        ),
        "ModifiedProperties": [],
        "Actor": pt.actor,
        "ActorContextId": tenant,
        "ActorIpAddress": ip,
        "InterSystemsId": correlation(sess, r),
        "IntraSystemId": rid,
        "SupportTicketId": "",
        "Target": target,
        "TargetContextId": tenant,
        "ApplicationId": client,
        "ErrorNumber": str(error),
        "DeviceProperties": sess.device_properties(),
    }
    if logon_error:
        rec["LogonError"] = logon_error
    return rec


SIGN_IN = Kind("sign_in", sign_in, AAD)

# (role display name, template id, well-known name): roles admins hand out.
_ROLES = (
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de",
     "ExchangeServiceAdministrator"),
    ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8", "HelpdeskAdministrator"),
    ("SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
     "SharePointServiceAdministrator"),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "GlobalReader"),
)  # fmt: skip
_CONSENT_APPS = ("Zoom for Outlook", "DocuSign eSignature", "Adobe Acrobat", "Miro", "Calendly")
_TITLES = ("Senior Analyst", "Team Lead", "Manager", "Principal Engineer", "Specialist")
_OPS = (
    "Add user.",
    "Update user.",
    "Add member to role.",
    "Consent to application.",
    "Add member to group.",
    "Change user license.",
)

# (operation index, target person index, group index or role index)
DirArgs = tuple[int, int, int]


def _user_target(oid: str, upn: str, puid: str) -> list[dict[str, Any]]:
    return [
        {"ID": f"User_{oid}", "Type": 2},
        {"ID": oid, "Type": 2},
        {"ID": "User", "Type": 2},
        {"ID": upn, "Type": 5},
        {"ID": puid, "Type": 3},
    ]


def directory(sess: Sess, ts: int, x: DirArgs, r: int) -> dict[str, Any]:
    """An admin's change in the directory; ``x`` = (operation, target person, group/role)."""
    op, who, which = x
    pt = sess.pt
    assert pt is not None
    tt = sess.tt
    tenant = tt.tenant.tenant_id
    target_pt: PersonT = tt.people[who]
    category = "User"
    changes: list[dict[str, str]] = []
    oid, upn, puid = target_pt.oid, target_pt.upn, target_pt.puid
    target = None
    if op == 0:  # a new hire
        first = FIRST_NAMES[(r >> 20) % len(FIRST_NAMES)]
        last = LAST_NAMES[(r >> 30) % len(LAST_NAMES)]
        local = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
        oid, upn = derive(r, 3), f"{local}{(r >> 40) % 90 + 10}@{tt.tenant.domain}"
        puid = f"100320{(r >> 60) & 0xFFFFFFFFFF:010X}"
        changes = [
            property_change("AccountEnabled", None, True),
            property_change("DisplayName", None, f"{first} {last}"),
            property_change("UserPrincipalName", None, upn),
            property_change("UserType", None, "Member"),
        ]
    elif op == 1:
        changes = [property_change("JobTitle", target_pt.person.title, _TITLES[which % 5])]
    elif op == 2:
        role, template, known = _ROLES[which % len(_ROLES)]
        changes = [
            {"Name": "Role.ObjectID", "NewValue": derive(r, 5), "OldValue": ""},
            {"Name": "Role.DisplayName", "NewValue": role, "OldValue": ""},
            {"Name": "Role.TemplateId", "NewValue": template, "OldValue": ""},
            {"Name": "Role.WellKnownObjectName", "NewValue": known, "OldValue": ""},
        ]
    elif op == 3:
        category = "ServicePrincipal"
        name, sp, app = _CONSENT_APPS[which % len(_CONSENT_APPS)], derive(r, 5), derive(r, 9)
        changes = [
            {"Name": "ConsentContext.IsAdminConsent", "NewValue": "True", "OldValue": ""},
            {"Name": "ConsentContext.IsAppOnly", "NewValue": "False", "OldValue": ""},
            {"Name": "ConsentContext.OnBehalfOfAll", "NewValue": "True", "OldValue": ""},
            {"Name": "ConsentContext.Tags", "NewValue": "", "OldValue": ""},
            {
                "Name": "ConsentAction.Permissions",
                "NewValue": f"[] => [[Id: {derive(r, 13)}, ClientId: {sp}, "
                "ConsentType: AllPrincipals, Scope: User.Read Mail.Read offline_access]]; ",
                "OldValue": "",
            },
            {"Name": "TargetId.ServicePrincipalNames", "NewValue": app, "OldValue": ""},
        ]
        target = [
            {"ID": f"ServicePrincipal_{sp}", "Type": 2},
            {"ID": sp, "Type": 2},
            {"ID": "ServicePrincipal", "Type": 2},
            {"ID": name, "Type": 1},
            {"ID": app, "Type": 2},
            {"ID": app, "Type": 4},
        ]
        upn = name
    elif op == 4:
        dept = tt.depts[which % len(tt.depts)]
        changes = [
            {"Name": "Group.ObjectID", "NewValue": dept.group_id, "OldValue": ""},
            {"Name": "Group.DisplayName", "NewValue": dept.name, "OldValue": ""},
        ]
    if op < 2:
        included = ", ".join(c["Name"] for c in changes)
        changes.append(
            {"Name": "Included Updated Properties", "NewValue": included, "OldValue": ""}
        )
    ip = sess.ip
    return {
        "CreationTime": creation_time(ts),
        "Id": guid(r),
        "Operation": _OPS[op],
        "OrganizationId": tenant,
        "RecordType": 8,
        "ResultStatus": "Success",
        "UserKey": pt.dir_key,
        "UserType": 0,
        "Version": 1,
        "Workload": "AzureActiveDirectory",
        "ClientIP": ip,
        "ObjectId": upn,
        "UserId": pt.upn,
        "AzureActiveDirectoryEventType": 1,
        "ExtendedProperties": [
            {"Name": "additionalDetails", "Value": "{}"},
            {"Name": "extendedAuditEventCategory", "Value": category},
        ],
        "ModifiedProperties": changes,
        "Actor": pt.dir_actor,
        "ActorContextId": tenant,
        "ActorIpAddress": ip,
        "InterSystemsId": derive(r, 11),
        "IntraSystemId": derive(r, 17),
        "SupportTicketId": "",
        "Target": target or _user_target(oid, upn, puid),
        "TargetContextId": tenant,
    }


DIRECTORY = Kind("directory", directory, AAD)
