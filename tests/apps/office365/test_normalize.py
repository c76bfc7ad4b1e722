"""Hand-written records: classification and app naming tables, outcomes, malformed input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from opencasb.apps.office365.normalize import normalize, parse_powershell_parameters
from opencasb.apps.office365.operations import app_name, classify, derive_action
from opencasb.errors import NormalizeError
from opencasb.model import Category, Outcome

BASE: dict[str, Any] = {
    "Id": "ec04aa09-0a43-4879-cdc8-08d7abecf327",
    "CreationTime": "2024-05-01T10:20:30",
    "RecordType": 1,
    "Workload": "Exchange",
    "UserId": "Mallory@Contoso.example",
    "UserKey": "10032001A4F7C2D9",
    "UserType": 0,
    "ClientIP": "203.0.113.7:50412",
}


def record(**changes: Any) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not ...}


@pytest.mark.parametrize(
    ("operation", "record_type", "category", "action"),
    [
        ("UserLoggedIn", 15, Category.LOGON, "sign-in"),
        ("UserLoginFailed", 15, Category.LOGON, "sign-in"),
        ("FileDownloaded", 6, Category.FILE, "download-file"),
        ("FileSyncDownloadedFull", 6, Category.FILE, "sync-download-file"),
        ("AnonymousLinkCreated", 14, Category.SHARING, "create-anonymous-link"),
        ("SharingInvitationCreated", 14, Category.SHARING, "invite-to-share"),
        ("New-InboxRule", 1, Category.MAIL, "create-inbox-rule"),
        ("Set-Mailbox", 1, Category.ADMIN, "set-mailbox"),
        ("Add-MailboxPermission", 1, Category.ADMIN, "grant-mailbox-permission"),
        ("MailItemsAccessed", 50, Category.MAIL, "access-mail"),
        ("Add member to role.", 8, Category.ADMIN, "grant-role"),
        ("add member to role.", 8, Category.ADMIN, "grant-role"),  # Azure AD varies the case
        ("Add user.", 8, Category.USER_MANAGEMENT, "create-user"),
        ("Consent to application.", 8, Category.APP, "consent-to-app"),
        ("DLPRuleMatch", 11, Category.SECURITY, "dlp-rule-match"),
        ("AlertTriggered", 40, Category.SECURITY, "alert-triggered"),
        ("TIMailData", 28, Category.SECURITY, "mail-threat-detected"),
        ("MemberAdded", 25, Category.USER_MANAGEMENT, "add-team-member"),
        # no exact entry: category from keywords or the RecordType, action derived
        ("Set-OwaMailboxPolicy", 1, Category.ADMIN, "set-owa-mailbox-policy"),
        (
            "Update conditional access policy.",
            8,
            Category.ADMIN,
            "update-conditional-access-policy",
        ),
        ("Update device.", 8, Category.USER_MANAGEMENT, "update-device"),
        ("FileSensitivityLabelChanged", 6, Category.FILE, "file-sensitivity-label-changed"),
        ("SomethingNew", 9999, Category.OTHER, "something-new"),
        ("", None, Category.OTHER, "unknown"),
    ],
)
def test_classify(operation: str, record_type: int | None, category: Category, action: str) -> None:
    assert classify(operation, record_type) == (category, action)


@pytest.mark.parametrize(
    ("record_type", "workload", "app"),
    [
        (1, "Exchange", "Exchange"),
        (6, "OneDrive", "OneDrive"),
        (6, "SharePoint", "SharePoint"),
        (14, "OneDrive", "OneDrive"),
        (7, "SharePoint", "SharePoint"),
        (8, "AzureActiveDirectory", "Azure Active Directory"),
        (15, "AzureActiveDirectory", "Azure Active Directory"),
        (11, "OneDrive", "DLP"),  # a DLP record names DLP, the Workload stays in details
        (13, "Exchange", "DLP"),
        (20, "PowerBI", "Power BI"),
        (21, "CRM", "Dynamics 365"),
        (22, "Yammer", "Yammer"),
        (25, "MicrosoftTeams", "Microsoft Teams"),
        (28, "ThreatIntelligence", "Threat Intelligence"),
        (30, "MicrosoftFlow", "Power Automate"),
        (32, "MicrosoftStream", "Stream"),
        (40, "SecurityComplianceCenter", "Security & Compliance"),
        (66, "MicrosoftForms", "Microsoft Forms"),
        (None, "Sway", "Sway"),
        (9999, "SomeNewWorkload", "SomeNewWorkload"),
        (None, None, "Office 365"),
    ],
)
def test_app_name(record_type: int | None, workload: str | None, app: str) -> None:
    assert app_name(record_type, workload) == app


def test_derive_action() -> None:
    assert derive_action("New-InboxRule") == "new-inbox-rule"
    assert derive_action("DLPRuleMatch") == "dlp-rule-match"
    assert derive_action("Update user.") == "update-user"
    assert derive_action("...") == "unknown"


def test_inbox_rule_parameters_are_flattened_for_detections() -> None:
    activity = normalize(
        record(
            Operation="New-InboxRule",
            ResultStatus="True",
            ObjectId="contoso.example\\Mallory\\Hide",
            Parameters=[
                {"Name": "Mailbox", "Value": "mallory@contoso.example"},
                {"Name": "Name", "Value": "Hide"},
                {"Name": "ForwardTo", "Value": "drop@evil.example;x@evil.example"},
                {"Name": "DeleteMessage", "Value": "True"},
                {"Name": "Empty", "Value": ""},
            ],
        )
    )
    assert activity.category is Category.MAIL
    assert activity.action == "create-inbox-rule"
    assert activity.outcome is Outcome.SUCCESS
    assert activity.details["param.ForwardTo"] == "drop@evil.example;x@evil.example"
    assert activity.details["param.DeleteMessage"] == "True"
    assert "param.Empty" not in activity.details
    assert activity.targets[0].type == "InboxRule"
    assert activity.targets[0].name == "Hide"
    assert any(t.type == "Mailbox" for t in activity.targets)
    assert activity.description == "Exchange: New-InboxRule (Hide, mallory@contoso.example)"
    assert activity.actor.email == "mallory@contoso.example"
    assert activity.actor.type == "Regular"
    assert activity.src_ip == "203.0.113.7"
    assert activity.details["client_port"] == 50412
    assert activity.time == datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("Succeeded", Outcome.SUCCESS),
        ("Success", Outcome.SUCCESS),
        ("True", Outcome.SUCCESS),
        ("TRUE", Outcome.SUCCESS),
        ("Failed", Outcome.FAILURE),
        ("failed", Outcome.FAILURE),
        ("Failure", Outcome.FAILURE),
        ("False", Outcome.FAILURE),
        ("PartiallySucceeded", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
        (7, Outcome.UNKNOWN),
    ],
)
def test_outcome_from_result_status(status: Any, outcome: Outcome) -> None:
    activity = normalize(record(Operation="Set-Mailbox", ResultStatus=status))
    assert activity.outcome is outcome
    assert activity.outcome_detail == (str(status) if status is not None else None)


def test_failed_sign_in_reason() -> None:
    activity = normalize(
        record(
            RecordType=15,
            Workload="AzureActiveDirectory",
            Operation="UserLoginFailed",
            ResultStatus="Success",  # Azure AD says so on some failed sign-ins
            ErrorNumber="50126",
            LogonError="InvalidUserNameOrPassword",
            ClientIP=None,
            ActorIpAddress="2001:db8::7",
            ExtendedProperties=[{"Name": "UserAgent", "Value": "python-requests/2.31"}],
            DeviceProperties=[
                {"Name": "OS", "Value": "Windows 10"},
                {"Name": "BrowserType", "Value": "Edge"},
            ],
        )
    )
    assert activity.category is Category.LOGON
    assert activity.outcome is Outcome.FAILURE
    assert activity.outcome_reason == "InvalidUserNameOrPassword"
    assert activity.src_ip == "2001:db8::7"
    assert activity.user_agent == "python-requests/2.31"
    assert activity.device == "Windows 10 / Edge"
    assert activity.details["device.OS"] == "Windows 10"
    assert activity.details["o365_app"] == "Azure Active Directory"
    no_error = normalize(record(Operation="UserLoginFailed", ErrorNumber="50053"))
    assert no_error.outcome_reason == "AADSTS50053"


def test_modified_properties_become_old_and_new() -> None:
    activity = normalize(
        record(
            RecordType=8,
            Operation="Add member to role.",
            ModifiedProperties=[
                {"Name": "Role.DisplayName", "OldValue": "", "NewValue": "Global Administrator"},
                {"Name": "AccountEnabled", "OldValue": "[\r\n  true\r\n]", "NewValue": "[false]"},
            ],
        )
    )
    assert activity.details["modified.Role.DisplayName.new"] == "Global Administrator"
    assert "modified.Role.DisplayName.old" not in activity.details
    assert activity.details["modified.AccountEnabled.old"] is True
    assert activity.details["modified.AccountEnabled.new"] is False
    assert any(t.type == "Role" and t.name == "Global Administrator" for t in activity.targets)


def test_powershell_parameter_text() -> None:
    parsed = parse_powershell_parameters(
        '-Identity "a b" -Force -Types ("Bulk","Spam") -Empty () -Page 1 -Last "x"'
    )
    assert parsed == {
        "Identity": "a b",
        "Force": True,
        "Types": ["Bulk", "Spam"],
        "Empty": [],
        "Page": "1",
        "Last": "x",
    }
    assert parse_powershell_parameters("no parameters here") == {}
    activity = normalize(record(Operation="Set-Mailbox", Parameters='-Identity "bob"'))
    assert activity.details["param.Identity"] == "bob"


# ---------------------------------------------------------------- malformed records


@pytest.mark.parametrize("bad_id", [..., None, "", "   ", 12, ["x"]])
def test_missing_id_raises(bad_id: Any) -> None:
    with pytest.raises(NormalizeError, match="'Id'"):
        normalize(record(Id=bad_id))


@pytest.mark.parametrize(
    "bad_time", [..., None, "", "yesterday", "2024-05-01", "2024-13-01T00:00:00", 1714558830]
)
def test_bad_creation_time_raises_naming_field_and_id(bad_time: Any) -> None:
    with pytest.raises(NormalizeError, match="CreationTime") as caught:
        normalize(record(CreationTime=bad_time))
    assert BASE["Id"] in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:20:30Z", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T10:20:30.1234567", datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)),
        ("2024-05-01T12:20:30+02:00", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
    ],
)
def test_time_forms(value: str, expected: datetime) -> None:
    assert normalize(record(CreationTime=value)).time == expected


def test_not_an_object_raises() -> None:
    with pytest.raises(NormalizeError):
        normalize(["not", "a", "record"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"Parameters": None},
        {"Parameters": [None, 3, {"Name": None}, {"Value": "x"}]},
        {"ModifiedProperties": "not a list"},
        {"ModifiedProperties": {"Name": "x"}},
        {"ExtendedProperties": 42},
        {"Target": "x", "Actor": None, "Members": [1, None]},
        {"PolicyDetails": [{"Rules": "x"}, None, {"Rules": [None, {"Actions": 3}]}]},
        {"Item": "x", "Folders": [None, {"FolderItems": 3}]},
        {"UserId": None, "UserKey": None, "UserType": None, "ClientIP": None},
        {"UserId": ["x"], "UserType": {"a": 1}},
    ],
)
def test_odd_shapes_never_raise(changes: dict[str, Any]) -> None:
    activity = normalize(record(Operation="Set-Mailbox", **changes))
    assert activity.action == "set-mailbox"
    assert all(value is not None for value in activity.details.values())


def test_numbers_as_strings() -> None:
    activity = normalize(
        record(RecordType="15", UserType="2", LogonType="0", Operation="UserLoggedIn")
    )
    assert activity.details["record_type"] == 15
    assert activity.details["record_type_name"] == "AzureActiveDirectoryStsLogon"
    assert activity.details["o365_app"] == "Azure Active Directory"
    assert activity.actor.type == "Admin"
    assert activity.details["logon_type"] == "Owner"
    assert activity.category is Category.LOGON


def test_raw_is_kept_unchanged() -> None:
    raw = record(Operation="FileDownloaded", RecordType=6, Workload="OneDrive")
    snapshot = dict(raw)
    activity = normalize(raw)
    assert activity.raw is raw
    assert raw == snapshot


def test_a_modified_property_whose_name_is_not_a_string_is_ignored() -> None:
    record = {
        "Id": "8133912e-b888-4849-b8fb-070710b35400",
        "CreationTime": "2021-01-01T23:59:56",
        "RecordType": 8,
        "Operation": "Update user.",
        "UserId": "admin@example.com",
        "ModifiedProperties": [{"Name": [], "OldValue": "[1]", "NewValue": "[]"}],
    }
    activity = normalize(record)
    assert activity.source_event_id == record["Id"]
