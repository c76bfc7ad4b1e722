"""Office 365 audit vocabulary as data: RecordTypes, apps, user types and Operations.

* :data:`RECORD_TYPES` — ``RecordType`` number → Microsoft's enum name (api-office365.md §2.2).
* :func:`app_name` — the Office 365 app a record came from, from its RecordType, refined by its
  ``Workload`` (SharePoint vs OneDrive share RecordTypes; only the Workload tells them apart).
* :func:`classify` — ``Operation`` → (Category, action), in three layers, most specific first:

  1. :data:`OPERATIONS`: exact Operation names we have evidence for (the sample records, the
     research notes, the detections of mcas-features.md §3.3), with readable action verbs;
     looked up as sent, then case-insensitively (Azure AD writes both ``Set company
     information.`` and ``Set Company Information.``).
  2. :data:`AAD_KEYWORDS` for Azure AD directory records (RecordType 8), whose Operations are
     sentences (``Add member to role.``): the first keyword found gives the category.
  3. :data:`RECORD_TYPE_CATEGORIES`: the RecordType's default category; else OTHER.

  Without an exact entry the action is derived from the Operation itself
  (``Set-OwaMailboxPolicy`` → ``set-owa-mailbox-policy``, ``Update user.`` → ``update-user``),
  so a new Operation still gets a stable, readable action.

Contract: every function here is total and pure; :func:`classify` memoizes (bounded).
"""

from __future__ import annotations

import re
from typing import Final

from opencasb.model.activity import Category

__all__ = [
    "AAD_KEYWORDS",
    "LOGON_TYPES",
    "OPERATIONS",
    "RECORD_TYPES",
    "RECORD_TYPE_APPS",
    "RECORD_TYPE_CATEGORIES",
    "UNKNOWN_APP",
    "USER_TYPES",
    "WORKLOAD_APPS",
    "app_name",
    "classify",
    "derive_action",
]

_L = Category.LOGON
_U = Category.USER_MANAGEMENT
_A = Category.ADMIN
_P = Category.APP
_F = Category.FILE
_S = Category.SHARING
_M = Category.MAIL
_X = Category.SECURITY
_Y = Category.SYSTEM
_O = Category.OTHER

RECORD_TYPES: Final[dict[int, str]] = {
    1: "ExchangeAdmin",
    2: "ExchangeItem",
    3: "ExchangeItemGroup",
    4: "SharePoint",
    6: "SharePointFileOperation",
    7: "OneDrive",
    8: "AzureActiveDirectory",
    9: "AzureActiveDirectoryAccountLogon",
    10: "DataCenterSecurityCmdlet",
    11: "ComplianceDLPSharePoint",
    13: "ComplianceDLPExchange",
    14: "SharePointSharingOperation",
    15: "AzureActiveDirectoryStsLogon",
    16: "SkypeForBusinessPSTNUsage",
    17: "SkypeForBusinessUsersBlocked",
    18: "SecurityComplianceCenterEOPCmdlet",
    19: "ExchangeAggregatedOperation",
    20: "PowerBIAudit",
    21: "CRM",
    22: "Yammer",
    23: "SkypeForBusinessCmdlets",
    24: "Discovery",
    25: "MicrosoftTeams",
    28: "ThreatIntelligence",
    29: "MailSubmission",
    30: "MicrosoftFlow",
    31: "AeD",
    32: "MicrosoftStream",
    33: "ComplianceDLPSharePointClassification",
    34: "ThreatFinder",
    35: "Project",
    36: "SharePointListOperation",
    37: "SharePointCommentOperation",
    38: "DataGovernance",
    39: "Kaizala",
    40: "SecurityComplianceAlerts",
    41: "ThreatIntelligenceUrl",
    42: "SecurityComplianceInsights",
    43: "MIPLabel",
    44: "VivaInsights",
    45: "PowerAppsApp",
    46: "PowerAppsPlan",
    47: "ThreatIntelligenceAtpContent",
    48: "LabelContentExplorer",
    49: "TeamsHealthcare",
    50: "ExchangeItemAggregated",
    51: "HygieneEvent",
    52: "DataInsightsRestApiAudit",
    53: "InformationBarrierPolicyApplication",
    54: "SharePointListItemOperation",
    55: "SharePointContentTypeOperation",
    56: "SharePointFieldOperation",
    57: "MicrosoftTeamsAdmin",
    58: "HRSignal",
    59: "MicrosoftTeamsDevice",
    60: "MicrosoftTeamsAnalytics",
    61: "InformationWorkerProtection",
    62: "Campaign",
    63: "DLPEndpoint",
    64: "AirInvestigation",
    65: "Quarantine",
    66: "MicrosoftForms",
    67: "ApplicationAudit",
    68: "ComplianceSupervisionExchange",
    69: "CustomerKeyServiceEncryption",
    70: "OfficeNative",
    71: "MipAutoLabelSharePointItem",
    72: "MipAutoLabelSharePointPolicyLocation",
    73: "MicrosoftTeamsShifts",
    75: "MipAutoLabelExchangeItem",
    76: "CortanaBriefing",
    78: "WDATPAlerts",
    82: "SensitivityLabelPolicyMatch",
    83: "SensitivityLabelAction",
    84: "SensitivityLabeledFileAction",
    85: "AttackSim",
    86: "AirManualInvestigation",
    87: "SecurityComplianceRBAC",
    88: "UserTraining",
    89: "AirAdminActionInvestigation",
    90: "MSTIC",
    261: "CopilotInteraction",
    275: "OWAAuth",
    294: "AadRiskDetection",
}
"""``RecordType`` → AuditLogRecordType name (the subset in api-office365.md §2.2)."""

UNKNOWN_APP: Final = "Office 365"
"""The app name of a record whose RecordType and Workload are both unknown."""

_EXCHANGE = "Exchange"
_SHAREPOINT = "SharePoint"
_ONEDRIVE = "OneDrive"
_AAD = "Azure Active Directory"
_TEAMS = "Microsoft Teams"
_DLP = "DLP"
_TI = "Threat Intelligence"
_SCC = "Security & Compliance"

RECORD_TYPE_APPS: Final[dict[int, str]] = {
    **dict.fromkeys((1, 2, 3, 19, 50, 68, 275), _EXCHANGE),
    **dict.fromkeys((4, 6, 14, 36, 37, 54, 55, 56), _SHAREPOINT),
    7: _ONEDRIVE,
    **dict.fromkeys((8, 9, 15, 294), _AAD),
    **dict.fromkeys((11, 13, 33, 63), _DLP),
    16: "Skype for Business",
    17: "Skype for Business",
    23: "Skype for Business",
    20: "Power BI",
    21: "Dynamics 365",
    22: "Yammer",
    **dict.fromkeys((25, 49, 57, 59, 60, 73), _TEAMS),
    **dict.fromkeys((28, 34, 41, 47, 51, 61), _TI),
    30: "Power Automate",
    32: "Stream",
    35: "Project",
    39: "Kaizala",
    44: "Viva Insights",
    45: "Power Apps",
    46: "Power Apps",
    66: "Microsoft Forms",
    **dict.fromkeys((10, 18, 24, 29, 38, 40, 42, 52, 53, 64, 65, 85, 86, 87, 88, 89, 90), _SCC),
    **dict.fromkeys((43, 48, 71, 72, 75, 82, 83, 84), "Information Protection"),
    78: "Defender for Endpoint",
    261: "Copilot",
}
"""``RecordType`` → the Office 365 app it belongs to."""

WORKLOAD_APPS: Final[dict[str, str]] = {
    "Exchange": _EXCHANGE,
    "SharePoint": _SHAREPOINT,
    "OneDrive": _ONEDRIVE,
    "AzureActiveDirectory": _AAD,
    "MicrosoftTeams": _TEAMS,
    "PowerBI": "Power BI",
    "CRM": "Dynamics 365",
    "Dynamics365": "Dynamics 365",
    "Yammer": "Yammer",
    "MicrosoftFlow": "Power Automate",
    "PowerApps": "Power Apps",
    "MicrosoftForms": "Microsoft Forms",
    "Sway": "Sway",
    "MicrosoftStream": "Stream",
    "SecurityComplianceCenter": _SCC,
    "ThreatIntelligence": _TI,
    "Project": "Project",
    "Kaizala": "Kaizala",
    "SkypeForBusiness": "Skype for Business",
    "Copilot": "Copilot",
    "PublicEndpoint": "Office 365",
}
"""``Workload`` → app name, for records whose RecordType is unknown."""

# SharePoint and OneDrive share every SharePoint RecordType: there the Workload decides.
_WORKLOAD_DECIDES: Final = frozenset({_SHAREPOINT, _ONEDRIVE})

USER_TYPES: Final[dict[int, str]] = {
    0: "Regular",
    1: "Reserved",
    2: "Admin",
    3: "DcAdmin",
    4: "System",
    5: "Application",
    6: "ServicePrincipal",
    7: "CustomPolicy",
    8: "SystemPolicy",
    9: "PartnerTechnician",
    10: "Guest",
}
"""``UserType`` → name (api-office365.md §2.3)."""

LOGON_TYPES: Final[dict[int, str]] = {
    0: "Owner",
    1: "Admin",
    2: "Delegated",
    3: "Transport",
    4: "SystemService",
    5: "BestAccess",
    6: "DelegatedAdmin",
}
"""Exchange mailbox ``LogonType`` → name (api-office365.md §2.4)."""


def app_name(record_type: int | None, workload: str | None) -> str:
    """The Office 365 app of a record: by RecordType, the Workload refining SharePoint/OneDrive."""
    by_type = RECORD_TYPE_APPS.get(record_type) if record_type is not None else None
    by_workload = WORKLOAD_APPS.get(workload) if workload else None
    if by_type is None:
        return by_workload or workload or UNKNOWN_APP
    if by_type in _WORKLOAD_DECIDES and by_workload in _WORKLOAD_DECIDES:
        return by_workload
    return by_type


OPERATIONS: Final[dict[str, tuple[Category, str]]] = {
    # -- sign-ins (Azure AD STS, Exchange, Teams)
    "UserLoggedIn": (_L, "sign-in"),
    "UserLoginFailed": (_L, "sign-in"),  # the outcome says it failed; the action is the same
    "UserLoggedOut": (_L, "sign-out"),
    "MailboxLogin": (_L, "mailbox-sign-in"),
    "TeamsSessionStarted": (_L, "start-session"),
    "SignInEvent": (_L, "sign-in"),
    # -- SharePoint / OneDrive files and folders
    "FileAccessed": (_F, "access-file"),
    "FileAccessedExtended": (_F, "access-file"),
    "FilePreviewed": (_F, "preview-file"),
    "FileDownloaded": (_F, "download-file"),
    "FileSyncDownloadedFull": (_F, "sync-download-file"),
    "FileSyncDownloadedPartial": (_F, "sync-download-file"),
    "FileUploaded": (_F, "upload-file"),
    "FileSyncUploadedFull": (_F, "sync-upload-file"),
    "FileSyncUploadedPartial": (_F, "sync-upload-file"),
    "FileModified": (_F, "modify-file"),
    "FileModifiedExtended": (_F, "modify-file"),
    "FileRenamed": (_F, "rename-file"),
    "FileMoved": (_F, "move-file"),
    "FileCopied": (_F, "copy-file"),
    "FileDeleted": (_F, "delete-file"),
    "FileRecycled": (_F, "delete-file"),
    "FileDeletedFirstStageRecycleBin": (_F, "purge-file"),
    "FileDeletedSecondStageRecycleBin": (_F, "purge-file"),
    "FileVersionsAllDeleted": (_F, "delete-file-versions"),
    "FileRestored": (_F, "restore-file"),
    "FileCheckedIn": (_F, "check-in-file"),
    "FileCheckedOut": (_F, "check-out-file"),
    "FileCheckOutDiscarded": (_F, "discard-check-out"),
    "FileMalwareDetected": (_X, "malware-detected"),
    "FolderCreated": (_F, "create-folder"),
    "FolderModified": (_F, "modify-folder"),
    "FolderRenamed": (_F, "rename-folder"),
    "FolderMoved": (_F, "move-folder"),
    "FolderCopied": (_F, "copy-folder"),
    "FolderDeleted": (_F, "delete-folder"),
    "FolderRecycled": (_F, "delete-folder"),
    "FolderRestored": (_F, "restore-folder"),
    "PageViewed": (_F, "view-page"),
    "PageViewedExtended": (_F, "view-page"),
    "ListCreated": (_F, "create-list"),
    "ListUpdated": (_F, "update-list"),
    "ListDeleted": (_F, "delete-list"),
    "ListColumnCreated": (_F, "create-list-column"),
    "ListColumnUpdated": (_F, "update-list-column"),
    "ListItemCreated": (_F, "create-list-item"),
    "ListItemUpdated": (_F, "update-list-item"),
    "ListItemDeleted": (_F, "delete-list-item"),
    # -- sharing and links
    "AnonymousLinkCreated": (_S, "create-anonymous-link"),
    "AnonymousLinkUpdated": (_S, "update-anonymous-link"),
    "AnonymousLinkRemoved": (_S, "remove-anonymous-link"),
    "AnonymousLinkUsed": (_S, "use-anonymous-link"),
    "CompanyLinkCreated": (_S, "create-company-link"),
    "CompanyLinkRemoved": (_S, "remove-company-link"),
    "CompanyLinkUsed": (_S, "use-company-link"),
    "SecureLinkCreated": (_S, "create-secure-link"),
    "SecureLinkUpdated": (_S, "update-secure-link"),
    "SecureLinkDeleted": (_S, "remove-secure-link"),
    "SecureLinkUsed": (_S, "use-secure-link"),
    "AddedToSecureLink": (_S, "add-to-secure-link"),
    "RemovedFromSecureLink": (_S, "remove-from-secure-link"),
    "SharingSet": (_S, "share"),
    "SharingRevoked": (_S, "unshare"),
    "SharingInvitationCreated": (_S, "invite-to-share"),
    "SharingInvitationAccepted": (_S, "accept-sharing-invitation"),
    "SharingInvitationRevoked": (_S, "revoke-sharing-invitation"),
    "SharingInheritanceBroken": (_S, "break-permission-inheritance"),
    "SharingInheritanceReset": (_S, "reset-permission-inheritance"),
    "AccessRequestCreated": (_S, "request-access"),
    "AccessRequestApproved": (_S, "approve-access-request"),
    "AccessRequestRejected": (_S, "reject-access-request"),
    "AddedToGroup": (_S, "add-to-site-group"),
    "RemovedFromGroup": (_S, "remove-from-site-group"),
    "SharingPolicyChanged": (_A, "change-sharing-policy"),
    "SiteCollectionCreated": (_A, "create-site-collection"),
    "SiteDeleted": (_A, "delete-site"),
    "SiteCollectionAdminAdded": (_A, "add-site-admin"),
    "SiteCollectionAdminRemoved": (_A, "remove-site-admin"),
    # -- Exchange mailbox items (RecordTypes 2, 3, 50)
    "MailItemsAccessed": (_M, "access-mail"),
    "MessageBind": (_M, "read-mail"),
    "FolderBind": (_M, "access-mail-folder"),
    "AttachmentAccess": (_M, "access-attachment"),
    "Send": (_M, "send-mail"),
    "SendAs": (_M, "send-mail-as"),
    "SendOnBehalf": (_M, "send-mail-on-behalf"),
    "Create": (_M, "create-mail-item"),
    "Update": (_M, "update-mail-item"),
    "Copy": (_M, "copy-mail-item"),
    "Move": (_M, "move-mail-item"),
    "MoveToDeletedItems": (_M, "delete-mail"),
    "SoftDelete": (_M, "soft-delete-mail"),
    "HardDelete": (_M, "hard-delete-mail"),
    "SearchQueryInitiatedExchange": (_M, "search-mailbox"),
    "UpdateInboxRules": (_M, "update-inbox-rules"),
    "UpdateCalendarDelegation": (_S, "delegate-calendar"),
    "AddFolderPermissions": (_S, "grant-folder-permission"),
    "ModifyFolderPermissions": (_S, "change-folder-permission"),
    "RemoveFolderPermissions": (_S, "revoke-folder-permission"),
    # -- Exchange admin cmdlets: mail-flow rules, forwarding, permissions, configuration
    "New-InboxRule": (_M, "create-inbox-rule"),
    "Set-InboxRule": (_M, "update-inbox-rule"),
    "Enable-InboxRule": (_M, "enable-inbox-rule"),
    "Disable-InboxRule": (_M, "disable-inbox-rule"),
    "Remove-InboxRule": (_M, "delete-inbox-rule"),
    "Set-Mailbox": (_A, "set-mailbox"),
    "New-Mailbox": (_U, "create-mailbox"),
    "Remove-Mailbox": (_U, "delete-mailbox"),
    "Add-MailboxPermission": (_A, "grant-mailbox-permission"),
    "Remove-MailboxPermission": (_A, "revoke-mailbox-permission"),
    "Add-RecipientPermission": (_A, "grant-send-as"),
    "Remove-RecipientPermission": (_A, "revoke-send-as"),
    "Add-MailboxFolderPermission": (_S, "grant-folder-permission"),
    "Set-MailboxFolderPermission": (_S, "change-folder-permission"),
    "Remove-MailboxFolderPermission": (_S, "revoke-folder-permission"),
    "New-TransportRule": (_A, "create-transport-rule"),
    "Set-TransportRule": (_A, "update-transport-rule"),
    "Remove-TransportRule": (_A, "delete-transport-rule"),
    "New-InboundConnector": (_A, "create-inbound-connector"),
    "Set-InboundConnector": (_A, "update-inbound-connector"),
    "New-ManagementRoleAssignment": (_A, "assign-exchange-role"),
    "Add-RoleGroupMember": (_A, "add-role-group-member"),
    "Set-AdminAuditLogConfig": (_A, "set-audit-log-config"),
    "Set-MailboxAuditBypassAssociation": (_A, "bypass-mailbox-audit"),
    "Set-OrganizationConfig": (_A, "set-organization-config"),
    # -- Azure AD directory (RecordType 8): users, groups, roles, apps, tenant
    "Add user.": (_U, "create-user"),
    "Update user.": (_U, "update-user"),
    "Delete user.": (_U, "delete-user"),
    "Hard Delete user.": (_U, "purge-user"),
    "Restore user.": (_U, "restore-user"),
    "Disable account.": (_U, "disable-user"),
    "Enable account.": (_U, "enable-user"),
    "Change user password.": (_U, "change-password"),
    "Reset user password.": (_U, "reset-password"),
    "Set force change user password.": (_U, "force-password-change"),
    "Change user license.": (_U, "change-license"),
    "Update StsRefreshTokenValidFrom Timestamp.": (_U, "revoke-sessions"),
    "Add group.": (_U, "create-group"),
    "Update group.": (_U, "update-group"),
    "Delete group.": (_U, "delete-group"),
    "Add member to group.": (_U, "add-group-member"),
    "Remove member from group.": (_U, "remove-group-member"),
    "Add owner to group.": (_U, "add-group-owner"),
    "Remove owner from group.": (_U, "remove-group-owner"),
    "Add member to role.": (_A, "grant-role"),
    "Remove member from role.": (_A, "revoke-role"),
    "Add eligible member to role.": (_A, "grant-eligible-role"),
    "Add role assignment.": (_A, "grant-role"),
    "Set company information.": (_A, "set-company-information"),
    "Set domain authentication.": (_A, "set-domain-authentication"),
    "Set federation settings on domain.": (_A, "set-domain-federation"),
    "Add domain to company.": (_A, "add-domain"),
    "Remove domain from company.": (_A, "remove-domain"),
    "Verify domain.": (_A, "verify-domain"),
    "Add partner to company.": (_A, "add-partner"),
    "Add policy.": (_A, "create-policy"),
    "Update policy.": (_A, "update-policy"),
    "Delete policy.": (_A, "delete-policy"),
    "Add application.": (_P, "create-app"),
    "Update application.": (_P, "update-app"),
    "Delete application.": (_P, "delete-app"),
    "Update application – Certificates and secrets management ": (_P, "update-app-credentials"),
    "Add service principal.": (_P, "create-service-principal"),
    "Update service principal.": (_P, "update-service-principal"),
    "Remove service principal.": (_P, "delete-service-principal"),
    "Add service principal credentials.": (_P, "add-app-credentials"),
    "Remove service principal credentials.": (_P, "remove-app-credentials"),
    "Consent to application.": (_P, "consent-to-app"),
    "Add delegated permission grant.": (_P, "grant-delegated-permission"),
    "Remove delegated permission grant.": (_P, "revoke-delegated-permission"),
    "Add app role assignment to service principal.": (_P, "grant-app-role"),
    "Add app role assignment grant to user.": (_P, "assign-app"),
    "Remove app role assignment from user.": (_P, "unassign-app"),
    "Add a deletion-marked app role assignment grant to service principal as part of link "
    "removal.": (_P, "grant-deletion-marked-app-role"),
    "Add OAuth2PermissionGrant.": (_P, "grant-oauth-permission"),
    "Add owner to application.": (_P, "add-app-owner"),
    "Add owner to service principal.": (_P, "add-service-principal-owner"),
    # -- DLP, alerts, threat intelligence, submissions
    "DLPRuleMatch": (_X, "dlp-rule-match"),
    "DLPRuleUndo": (_X, "dlp-rule-undo"),
    "DlpRuleMatch": (_X, "dlp-rule-match"),
    "DlpRuleUndo": (_X, "dlp-rule-undo"),
    "DLPInfo": (_X, "dlp-info"),
    "DlpInfo": (_X, "dlp-info"),
    "AlertTriggered": (_X, "alert-triggered"),
    "AlertEntityGenerated": (_X, "alert-entity-generated"),
    "AlertUpdated": (_X, "alert-updated"),
    "TIMailData": (_X, "mail-threat-detected"),
    "TIUrlClickData": (_X, "url-click"),
    "UserSubmission": (_X, "submit-message"),
    "AdminSubmission": (_X, "submit-message"),
    "QuarantineReleaseMessage": (_X, "release-quarantined-message"),
    "QuarantineRequestReleaseMessage": (_X, "request-quarantine-release"),
    "SearchCreated": (_A, "create-content-search"),
    "SearchStarted": (_A, "start-content-search"),
    "SearchExported": (_A, "export-content-search"),
    "SearchExportDownloaded": (_A, "download-search-export"),
    "SearchDataInsightsSubscription": (_Y, "search-data-insights"),
    # -- Teams, Yammer
    "TeamCreated": (_U, "create-team"),
    "TeamDeleted": (_U, "delete-team"),
    "MemberAdded": (_U, "add-team-member"),
    "MemberRemoved": (_U, "remove-team-member"),
    "MemberRoleChanged": (_U, "change-team-member-role"),
    "TeamSettingChanged": (_A, "change-team-setting"),
    "TeamsAdminAction": (_A, "teams-admin-action"),
    "ChannelAdded": (_O, "create-channel"),
    "ChannelDeleted": (_O, "delete-channel"),
    "MessageSent": (_O, "send-message"),
    "GroupCreation": (_U, "create-group"),
    # -- Power BI: exports and shares are the exfiltration paths
    "ExportReport": (_F, "export-report"),
    "ExportArtifact": (_F, "export-report"),
    "ShareReport": (_S, "share-report"),
    "ShareDashboard": (_S, "share-dashboard"),
    "ViewReport": (_F, "view-report"),
    "ViewDashboard": (_F, "view-dashboard"),
    # -- Copilot
    "CopilotInteraction": (_O, "copilot-interaction"),
}
"""Exact ``Operation`` → (category, action)."""

AAD_KEYWORDS: Final[tuple[tuple[str, Category], ...]] = (
    ("role", _A),
    ("policy", _A),
    ("domain", _A),
    ("company", _A),
    ("partner", _A),
    ("application", _P),
    ("service principal", _P),
    ("permission grant", _P),
    ("user", _U),
    ("group", _U),
    ("password", _U),
    ("device", _U),
)
"""Words of an Azure AD directory Operation sentence → category; the first one found wins."""

RECORD_TYPE_CATEGORIES: Final[dict[int, Category]] = {
    1: _A,
    **dict.fromkeys((2, 3, 19, 50, 68), _M),
    **dict.fromkeys((4, 6, 7, 36, 37, 54, 55, 56), _F),
    14: _S,
    8: _A,
    **dict.fromkeys((9, 15, 275), _L),
    **dict.fromkeys((10, 18, 24, 57, 87), _A),
    **dict.fromkeys((11, 13, 33, 63), _X),
    **dict.fromkeys((28, 29, 34, 40, 41, 47, 51, 61, 64, 65, 78, 85, 86, 89, 90, 294), _X),
    **dict.fromkeys((42, 52), _Y),
}
"""``RecordType`` → category of an Operation with no exact entry."""

_AAD_DIRECTORY: Final = 8
_FOLDED: Final[dict[str, tuple[Category, str]]] = {
    name.casefold(): value for name, value in OPERATIONS.items()
}
_CAMEL: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_MEMO_LIMIT: Final = 8192  # Operations come from untrusted input: bound the memo
_memo: dict[tuple[str, int | None], tuple[Category, str]] = {}


def classify(operation: str, record_type: int | None) -> tuple[Category, str]:
    """The (category, action) of an Operation in a record of ``record_type``; total, memoized."""
    exact = OPERATIONS.get(operation)
    if exact is not None:
        return exact
    key = (operation, record_type)
    hit = _memo.get(key)
    if hit is not None:
        return hit
    result = _FOLDED.get(operation.casefold()) or (
        _category(operation, record_type),
        derive_action(operation),
    )
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[key] = result
    return result


def _category(operation: str, record_type: int | None) -> Category:
    if record_type == _AAD_DIRECTORY:
        lowered = operation.lower()
        for word, category in AAD_KEYWORDS:
            if word in lowered:
                return category
    if record_type is None:
        return _O
    return RECORD_TYPE_CATEGORIES.get(record_type, _O)


def derive_action(operation: str) -> str:
    """A kebab-case action from an Operation name: ``New-InboxRule`` → ``new-inbox-rule``."""
    words = _CAMEL.findall(operation)
    return "-".join(word.lower() for word in words) or "unknown"
