"""The ``details`` of an Office 365 activity: a flat ``str -> value`` map without null or
empty values (see :mod:`.normalize` for the keys), and the DLP rules and severity."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from opencasb.apps.office365.operations import LOGON_TYPES, USER_TYPES
from opencasb.apps.office365.values import (
    as_dict,
    as_int,
    as_list,
    clean,
    json_or_text,
    name_values,
    present,
    unwrap,
)

__all__ = ["FIELDS", "details_of", "dlp_rules", "severity_of"]

FIELDS: Final[dict[str, str]] = {
    "Workload": "workload",
    "ObjectId": "object_id",
    "SiteUrl": "site_url",
    "SourceRelativeUrl": "source_relative_url",
    "SourceFileName": "source_file_name",
    "SourceFileExtension": "source_file_extension",
    "DestinationRelativeUrl": "destination_relative_url",
    "DestinationFileName": "destination_file_name",
    "DestinationFileExtension": "destination_file_extension",
    "ItemType": "item_type",
    "EventSource": "event_source",
    "EventData": "event_data",
    "UniqueSharingId": "sharing_id",
    "TargetUserOrGroupName": "target_user_or_group_name",
    "TargetUserOrGroupType": "target_user_or_group_type",
    "UserKey": "user_key",
    "OrganizationId": "organization_id",
    "OrganizationName": "organization_name",
    "ApplicationId": "application_id",
    "ApplicationDisplayName": "application_name",
    "AppId": "app_id",
    "ClientAppId": "client_app_id",
    "AadAppId": "aad_app_id",
    "CorrelationId": "correlation_id",
    "LogonError": "logon_error",
    "ErrorNumber": "error_number",
    "ClientInfoString": "client_info",
    "ActorInfoString": "actor_info",
    "LogonUserSid": "logon_user_sid",
    "MailboxOwnerUPN": "mailbox_owner_upn",
    "MailboxGuid": "mailbox_guid",
    "ExternalAccess": "external_access",
    "OperationCount": "operation_count",
    "OriginatingServer": "originating_server",
    "IsManagedDevice": "is_managed_device",
    "TeamName": "team.name",
    "TeamGuid": "team.id",
    "CommunicationType": "team.communication_type",
    "GroupName": "group_name",
    "IncidentId": "dlp.incident_id",
    "DataType": "data_type",
    "SenderIp": "sender_ip",
    "SenderIP": "sender_ip",
    "P1Sender": "mail.sender",
    "P2Sender": "mail.header_sender",
    "Subject": "mail.subject",
    "Recipients": "mail.recipients",
    "InternetMessageId": "mail.internet_message_id",
    "NetworkMessageId": "mail.network_message_id",
    "Verdict": "mail.verdict",
    "DeliveryAction": "mail.delivery_action",
    "LatestDeliveryLocation": "mail.delivery_location",
    "DetectionMethod": "mail.detection_method",
    "PhishConfidenceLevel": "mail.phish_confidence",
    "Policy": "mail.policy",
    "PolicyAction": "mail.policy_action",
    "SubmissionId": "submission.id",
    "SubmissionState": "submission.state",
    "SubmissionContentType": "submission.content_type",
}
"""Top-level scalar field → ``details`` key."""
_ALERT_FIELDS: Final[dict[str, str]] = {
    "AlertId": "alert.id",
    "Name": "alert.name",
    "Severity": "alert.severity",
    "Status": "alert.status",
    "Category": "alert.category",
    "AlertType": "alert.type",
    "AlertEntityId": "alert.entity_id",
    "EntityType": "alert.entity_type",
    "Source": "alert.source",
    "PolicyId": "alert.policy_id",
    "Comments": "alert.comments",
}
"""Security & Compliance alert fields; their names are too generic to copy from other records."""
# Name/Value lists copied into details under a prefix; DeviceProperties ("device.") comes first,
# from the parse normalize() makes for the device label.
_NAME_VALUE_LISTS: Final = (
    ("OperationProperties", "operation."),
    ("AuthDetails", "auth."),
)
_EXT_SKIP_PREFIX: Final = "env_"  # Azure AD telemetry envelope: 20 entries of noise per record
_DLP_SEVERITY: Final[dict[str, int]] = {"Low": 1, "Medium": 2, "High": 3}
_SNAKE: Final = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _snake(name: str) -> str:
    return _SNAKE.sub("_", name).lower()


# DLP metadata fields copied into details, with their details keys made once, here.
_DLP_META: Final = tuple(
    (section, tuple((key, f"dlp.{_snake(key)}") for key in keys))
    for section, keys in (
        (
            "SharePointMetaData",
            ("FilePathUrl", "FileName", "FileOwner", "From", "SiteCollectionUrl"),
        ),
        ("ExchangeMetaData", ("From", "To", "CC", "BCC", "Subject", "MessageID")),
    )
)


def severity_of(raw: Mapping[str, Any], rules: list[dict[str, Any]] | None) -> str | None:
    """The alert's severity, else the highest of the matched DLP rules' (``rules``)."""
    if "AlertId" in raw:
        return clean(raw.get("Severity"))
    best = None
    for rule in rules or ():
        severity = rule.get("Severity")
        if type(severity) is str and _DLP_SEVERITY.get(severity, 0) > _DLP_SEVERITY.get(
            best or "", 0
        ):
            best = severity
    return best


def dlp_rules(policies: Any) -> list[dict[str, Any]]:
    if not isinstance(policies, list):
        return []
    return [
        rule
        for policy in policies
        if isinstance(policy, dict) and isinstance(policy.get("Rules"), list)
        for rule in policy["Rules"]
        if isinstance(rule, dict)
    ]


def details_of(
    raw: Mapping[str, Any],
    ext: dict[str, Any],
    device_props: dict[str, Any],
    params: dict[str, Any],
    rules: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = FIELDS
    for key, value in raw.items():
        if key in fields:  # (cheaper than fields.get for the many keys that are not)
            if type(value) is str:  # most values: present unless "" or "<null>"
                if value and value != "<null>":
                    out[fields[key]] = value
            elif present(value) and not isinstance(value, (dict, list)):
                out[fields[key]] = value
    get = raw.get
    server = out.get("originating_server")
    if type(server) is str:  # Exchange ends it with a newline
        out["originating_server"] = server.strip()
    number = as_int(get("UserType"))
    if number is not None:
        out["user_type"] = USER_TYPES.get(number) or str(number)
    if "LogonType" in raw:  # Exchange mailbox records
        logon = as_int(raw["LogonType"])
        if logon is not None:
            out["logon_type"] = LOGON_TYPES.get(logon) or str(logon)
    if "AlertId" in raw:
        for key, name in _ALERT_FIELDS.items():
            value = get(key)
            if present(value):
                out[name] = value
        data = get("Data")
        if type(data) is str and data.startswith("{"):
            out["alert.data"] = json_or_text(data)

    for key, value in ext.items():
        if (
            value is not None
            and value != ""
            and value != "<null>"
            and not key.startswith(_EXT_SKIP_PREFIX)
        ):
            out[f"ext.{key}"] = value
    if device_props:
        _put_present(out, "device.", device_props)
    for field, prefix in _NAME_VALUE_LISTS:
        section = get(field)
        if section:
            _put_present(out, prefix, name_values(section))
    if params:
        _put_present(out, "param.", params)
    modified = get("ModifiedProperties")
    if isinstance(modified, list):
        _modified(modified, out)
    context = get("AppAccessContext")
    if isinstance(context, dict):
        _put_present(out, "app_access.", context)
    # The sections most records lack are skipped on a look at their keys, without the calls.
    if "Item" in raw or "Sender" in raw or "Folders" in raw or "Messages" in raw:
        _mail_details(get, out)
    if (
        rules is not None
        or "SharePointMetaData" in raw
        or "ExchangeMetaData" in raw
        or "ExceptionInfo" in raw
    ):
        _dlp_details(get, rules, out)
    return out


def _put_present(out: dict[str, Any], prefix: str, values: Mapping[Any, Any]) -> None:
    """Copy the present values of ``values`` into ``out`` under ``prefix``."""
    for key, value in values.items():
        if value is not None and value != "" and value != "<null>":
            out[f"{prefix}{key}"] = value


def _modified(value: list[Any], out: dict[str, Any]) -> None:
    for entry in value:
        if isinstance(entry, dict):
            name = entry.get("Name")
            if type(name) is str and name:
                for side, key in (("old", "OldValue"), ("new", "NewValue")):
                    item = unwrap(entry.get(key))
                    if item is not None and item != "" and item != "<null>":
                        out[f"modified.{name}.{side}"] = item


def _mail_details(get: Callable[[str], Any], out: dict[str, Any]) -> None:
    item = get("Item")
    if isinstance(item, dict):
        for key, name in (
            ("Id", "item.id"),
            ("Subject", "item.subject"),
            ("InternetMessageId", "item.internet_message_id"),
            ("Attachments", "item.attachments"),
        ):
            value = item.get(key)
            if present(value):
                out[name] = value
        folder = item.get("ParentFolder")
        if isinstance(folder, dict):
            for key, name in (
                ("Path", "item.folder"),
                ("MemberUpn", "folder.member_upn"),
                ("MemberRights", "folder.member_rights"),
            ):
                value = folder.get(key)
                if present(value):
                    out[name] = value
    sender = get("Sender")
    if isinstance(sender, dict) and present(sender.get("UPN")):
        out["mail.sender"] = sender["UPN"]
    # MailItemsAccessed / AttachmentAccess: which folders, and how many items in them
    folders = get("Folders") or get("Messages")
    if isinstance(folders, list):
        paths, count = [], 0
        for folder in folders:
            if isinstance(folder, dict):
                path = folder.get("Path")
                if type(path) is str and path not in paths:
                    paths.append(path)
                items = folder.get("FolderItems") or folder.get("MessageItems")
                count += len(items) if isinstance(items, list) else 0
        if paths:
            out["mail.folders"] = paths
        out["mail.item_count"] = count


def _dlp_details(
    get: Callable[[str], Any], rules: list[dict[str, Any]] | None, out: dict[str, Any]
) -> None:
    """``rules`` is ``dlp_rules(PolicyDetails)``, None when PolicyDetails is not a list."""
    if rules is not None:
        policies = get("PolicyDetails")
        lists = {
            "dlp.policies": [p.get("PolicyName") for p in policies if isinstance(p, dict)],
            "dlp.rules": [rule.get("RuleName") for rule in rules],
            "dlp.actions": [a for r in rules for a in as_list(r.get("Actions"))],
            "dlp.sensitive_types": [
                info.get("SensitiveType")
                for rule in rules
                for info in as_list(
                    as_dict(rule.get("ConditionsMatched")).get("SensitiveInformation")
                )
                if isinstance(info, dict)
            ],
        }
        for name, values in lists.items():
            kept = list(dict.fromkeys(v for v in values if type(v) is str))  # dedupe, in order
            if kept:
                out[name] = kept
    for section, fields in _DLP_META:
        meta = get(section)
        if isinstance(meta, dict):
            for key, name in fields:
                value = meta.get(key)
                if present(value) and value != []:
                    out[name] = value
    exception = get("ExceptionInfo")
    if present(exception):
        out["dlp.exception"] = json_or_text(exception) if type(exception) is str else exception
