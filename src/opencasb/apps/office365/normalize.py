"""Office 365 Management Activity API audit record → :class:`~opencasb.model.Activity`.

Contract:
    * :func:`normalize` is pure and total over odd shapes: ``None`` where a list or object is
      expected, numbers as strings (``"RecordType": "15"``), PowerShell-style text where a
      Name/Value list is expected, ports in ``ClientIP``. It raises
      :class:`~opencasb.errors.NormalizeError` only when the record is not an object or has no
      usable ``Id`` or ``CreationTime`` (ISO-8601; no zone means UTC).
    * ``raw`` is the record itself, unchanged.
    * The Office 365 app the record came from (Exchange, SharePoint, OneDrive, Azure Active
      Directory, Microsoft Teams, DLP, ...) is ``details["o365_app"]`` and also the prefix of
      ``description`` (``"OneDrive: FileDownloaded (report.xlsx)"``).
    * ``details`` is a flat ``str → value`` map without null or empty values: renamed scalar
      fields (:data:`FIELDS`), ``param.<Name>`` for Exchange cmdlet ``Parameters`` (what
      inbox-rule and forwarding detections read), ``modified.<Name>.old``/``.new`` for
      ``ModifiedProperties``, ``ext.<Name>`` for ``ExtendedProperties``, ``device.<Name>``,
      ``operation.<Name>``, ``auth.<Name>``, ``app_access.<key>``, ``dlp.*``, ``alert.*``,
      ``mail.*``, ``item.*``, plus ``o365_app``, ``record_type`` (number) and
      ``record_type_name``.
    * Outcome: ``ResultStatus`` Succeeded/Success/True → SUCCESS, Failed/Failure/False →
      FAILURE (any case), anything else or none → UNKNOWN; ``outcome_detail`` is the
      ResultStatus as sent. ``UserLoginFailed`` is a FAILURE whatever its ResultStatus says
      (Azure AD writes "Success" on some); ``outcome_reason`` is ``LogonError``, else
      ``AADSTS<ErrorNumber>`` for a non-zero ``ErrorNumber``.
    * ``src_ip`` is an address only (see :mod:`.ip`); a host name found instead goes to
      ``details["client_host"]``.

On the ingest hot path (once per record, in the ingest workers): plain ``dict`` reads,
coercers that return ``None`` instead of raising, memoized actors, client addresses and what
Operation/RecordType/Workload/ResultStatus decide; sections a record lacks are skipped on a look
at its keys, and nested lists (Parameters, DLP rules) are read once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from opencasb.apps.office365.ip import parse_client_ip
from opencasb.apps.office365.operations import (
    LOGON_TYPES,
    RECORD_TYPES,
    USER_TYPES,
    app_name,
    classify,
)
from opencasb.cache import BoundedCache
from opencasb.errors import NormalizeError
from opencasb.model.activity import Activity, Actor, Category, Outcome, Target

__all__ = ["APP", "FIELDS", "normalize", "parse_powershell_parameters"]

APP: Final = "office365"

_EMPTY: Final[dict[str, Any]] = {}
_BIG: Final = 10**18
_MAX_TARGETS: Final = 50  # a Teams record can list a whole team's members
# Placeholders Microsoft writes instead of a value.
_NOT_A_VALUE: Final = frozenset({"", "<null>", "null", "Not Available", "Unknown", "N/A"})

RESULTS: Final[dict[str, Outcome]] = {
    "succeeded": Outcome.SUCCESS,
    "success": Outcome.SUCCESS,
    "true": Outcome.SUCCESS,
    "failed": Outcome.FAILURE,
    "failure": Outcome.FAILURE,
    "false": Outcome.FAILURE,
}
"""Lower-cased ``ResultStatus`` → Outcome; everything else (PartiallySucceeded...) is UNKNOWN."""

OPERATION_OUTCOMES: Final[dict[str, Outcome]] = {"UserLoginFailed": Outcome.FAILURE}
"""Operations whose name says the outcome, overriding ``ResultStatus``."""

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
# Exchange cmdlet parameters that name another object the cmdlet acts on.
_PARAM_TARGETS: Final[dict[str, str]] = {
    "Mailbox": "Mailbox",
    "User": "User",
    "Trustee": "User",
    "Member": "User",
}
# ModifiedProperties that name the role or group a directory change is about.
_MODIFIED_TARGETS: Final[dict[str, str]] = {
    "Role.DisplayName": "Role",
    "Group.DisplayName": "Group",
}

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
_actor_memo: BoundedCache[tuple[Any, ...], Actor] = BoundedCache()

_Kind = tuple[str, Category, str, Outcome, str | None, str]
"""What a record's Operation, RecordType, Workload and ResultStatus decide: (o365_app,
category, action, outcome, record_type_name, description head)."""
# Few distinct (Operation, RecordType, Workload, ResultStatus) in a feed, and each is several
# table lookups and string operations: memoized, bounded (the input is untrusted). The key holds
# coerced values (exact str/int/None), so 1 and True or 1.0 cannot share an entry.
_kind_memo: BoundedCache[tuple[str, int | None, str | None, str | None], _Kind] = BoundedCache()


def normalize(raw: Mapping[str, Any]) -> Activity:
    """Turn one Office 365 audit record into an Activity.

    Raises:
        NormalizeError: ``Id`` or ``CreationTime`` is missing or unusable, or ``raw`` is not
            a JSON object. The message names the field, and the record's Id when it has one.
    """
    # the exact-type test first: isinstance against the Mapping ABC is the slow path
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise NormalizeError(
            f"office365 record is a {type(raw).__name__}, not a JSON object",
            fix="feed Management Activity API audit records (JSON objects) to this normalizer",
        )
    get = raw.get
    record_id = get("Id")
    if type(record_id) is not str or not record_id.strip():
        raise NormalizeError(
            "office365 record has no 'Id'",
            meaning="every Office 365 audit record carries an 'Id' GUID; this record does not",
            fix="check the content blob or export that produced it; the record is quarantined",
        )
    time = _parse_time(get("CreationTime"), record_id)

    operation = _str(get("Operation")) or ""
    record_type = _int(get("RecordType"))
    status = _str(get("ResultStatus"))
    o365_app, category, action, outcome, type_name, head = _kind(
        operation, record_type, _str(get("Workload")), status
    )
    ext = _name_values(get("ExtendedProperties"))
    client = parse_client_ip(
        get("ClientIP") or get("ClientIPAddress") or get("ActorIpAddress") or None
    )
    device_props = _name_values(get("DeviceProperties"))
    # Parsed once for details and targets: a PowerShell-style text costs two regexes.
    parameters = get("Parameters")
    params = _name_values(parameters) if parameters else _EMPTY
    policies = get("PolicyDetails")
    rules = _dlp_rules(policies) if isinstance(policies, list) else None

    details = _details(raw, ext, device_props, params, rules)
    details["o365_app"] = o365_app
    if record_type is not None:
        details["record_type"] = record_type
        if type_name:
            details["record_type_name"] = type_name
    if client.host:
        details["client_host"] = client.host
    if client.port is not None:
        details["client_port"] = client.port

    targets = _targets(raw, operation, params)
    if len(targets) == 1:  # the usual case
        name = targets[0].name
        description = f"{head} ({name})" if name else head
    else:
        names = [t.name for t in targets[:2] if t.name]
        description = f"{head} ({', '.join(names)})" if names else head

    return Activity(
        time=time,
        app=APP,
        source_event_id=record_id,
        activity_type=operation,
        category=category,
        action=action,
        outcome=outcome,
        actor=_actor(get),
        raw=raw,
        outcome_detail=status,
        outcome_reason=_reason(get, ext),
        targets=targets,
        src_ip=client.ip,
        user_agent=_user_agent(get, ext),
        device=_device(device_props),
        severity=_severity(raw, rules),
        description=description,
        details=details,
        # instance (the store fills it) and geo, asn, isp (enrichment's) keep their defaults
    )


def _kind(
    operation: str, record_type: int | None, workload: str | None, status: str | None
) -> _Kind:
    key = (operation, record_type, workload, status)
    hit = _kind_memo.get(key)
    if hit is None:
        o365_app = app_name(record_type, workload)
        category, action = classify(operation, record_type)
        outcome = OPERATION_OUTCOMES.get(operation) or (
            RESULTS.get(status.lower(), Outcome.UNKNOWN) if status else Outcome.UNKNOWN
        )
        type_name = RECORD_TYPES.get(record_type) if record_type is not None else None
        head = f"{o365_app}: {operation or 'unknown operation'}"
        hit = _kind_memo.put(key, (o365_app, category, action, outcome, type_name, head))
    return hit


# ---------------------------------------------------------------- coercers (never raise)


def _str(value: Any) -> str | None:
    """A non-empty string, or a number rendered as one; anything else is None."""
    if type(value) is str:
        return value or None
    if type(value) is float or (type(value) is int and -_BIG < value < _BIG):
        return str(value)  # (a huge int would make str() raise)
    return None


def _clean(value: Any) -> str | None:
    """A string that holds a value rather than one of Microsoft's placeholders."""
    # str and None (an absent key) first, without the call to _str: _clean runs ~15× a record
    if type(value) is str:
        return None if value in _NOT_A_VALUE else value  # ("" is one of them)
    if value is None:
        return None
    text = _str(value)
    return None if text is None or text in _NOT_A_VALUE else text


def _int(value: Any) -> int | None:
    """An int from an int or a string of digits (``"15"``); anything else is None."""
    if type(value) is int:
        return value
    if type(value) is str and 0 < len(value) <= 9 and value.isascii():
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _looks_like_email(text: str) -> bool:
    at = text.find("@")
    return 0 < at < len(text) - 1 and " " not in text and "|" not in text


def _json(text: str) -> Any:
    """``text`` parsed as JSON, else ``text`` itself."""
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, and text that is not valid UTF-8
        return text


# ---------------------------------------------------------------- sections


def _parse_time(value: Any, record_id: str) -> datetime:
    # fromisoformat (3.11) takes 'Z', offsets and any number of fractional digits; a bare date
    # (no time of day) is refused rather than read as midnight.
    if type(value) is str and len(value) >= 16:
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:  # Microsoft's documented form: UTC, without a zone
                # Parsed again with the zone: a third of what parsed.replace(tzinfo=UTC) costs
                # (3.11), and the same value (a valid zone-less text stays valid with one).
                return datetime.fromisoformat(value + "+00:00")
            return parsed.astimezone(UTC)  # OverflowError past year 1 or 9999
        except (ValueError, OverflowError):
            pass
    shown = repr(value[:64]) if type(value) is str else f"a {type(value).__name__}"
    raise NormalizeError(
        f"office365 record {record_id[:64]} has no usable 'CreationTime' (got {shown})",
        fix="'CreationTime' must be an ISO-8601 timestamp such as 2020-02-07T16:44:07",
    )


def _actor(get: Callable[[str], Any]) -> Actor:
    fields = (get("UserId"), get("UserKey"), get("UserType"), get("ActorUserId"))
    # Keyed by the types too (see opencasb.cache): 0, 0.0 and False are equal keys but
    # build different actors.
    return _actor_memo.build(fields, _build_actor)


def _build_actor(user_id: Any, user_key: Any, user_type: Any, yammer_user: Any) -> Actor:
    # UserId (a UPN for people) is the one identity that reads the same across workloads;
    # UserKey changes shape per workload (PUID, SharePoint claim, GUID), so it is the fallback.
    name = _clean(user_id) or _clean(yammer_user)
    ident = name or _clean(user_key)
    email = name.lower() if name and _looks_like_email(name) else None
    number = _int(user_type)
    kind = USER_TYPES.get(number) if number is not None else None
    return Actor(ident, name or ident, email, kind or _clean(user_type))


def _reason(get: Callable[[str], Any], ext: dict[str, Any]) -> str | None:
    error = _clean(get("LogonError")) or (_clean(ext.get("LoginError")) if ext else None)
    if error:
        return error
    number = _str(get("ErrorNumber"))
    return f"AADSTS{number}" if number and number != "0" else None


def _user_agent(get: Callable[[str], Any], ext: dict[str, Any]) -> str | None:
    agent = _clean(get("UserAgent"))
    if agent or not ext:
        return agent
    agent = _clean(ext.get("UserAgent"))
    if agent:
        return agent
    extra = ext.get("additionalDetails")  # Azure AD directory events: '{"User-Agent": "..."}'
    if type(extra) is str and extra.startswith("{") and len(extra) > 2:
        parsed = _json(extra)
        if isinstance(parsed, dict):
            return _clean(parsed.get("User-Agent"))
    return None


def _device(props: dict[str, Any]) -> str | None:
    """A short "OS / browser" label from Azure AD ``DeviceProperties``."""
    if not props:
        return None
    system, browser = _clean(props.get("OS")), _clean(props.get("BrowserType"))
    if system and browser:
        return f"{system} / {browser}"
    return system or browser or _clean(props.get("DisplayName"))


def _severity(raw: Mapping[str, Any], rules: list[dict[str, Any]] | None) -> str | None:
    """The alert's severity, else the highest of the matched DLP rules' (``rules``)."""
    if "AlertId" in raw:
        return _clean(raw.get("Severity"))
    best = None
    for rule in rules or ():
        severity = rule.get("Severity")
        if type(severity) is str and _DLP_SEVERITY.get(severity, 0) > _DLP_SEVERITY.get(
            best or "", 0
        ):
            best = severity
    return best


def _dlp_rules(policies: Any) -> list[dict[str, Any]]:
    if not isinstance(policies, list):
        return []
    return [
        rule
        for policy in policies
        if isinstance(policy, dict) and isinstance(policy.get("Rules"), list)
        for rule in policy["Rules"]
        if isinstance(rule, dict)
    ]


# ---------------------------------------------------------------- Name/Value lists


def _name_values(value: Any) -> dict[str, Any]:
    """``[{"Name": n, "Value": v}, ...]`` (or PowerShell-style text) as ``{n: v}``."""
    if value is None:  # the usual case: the record has no such list
        return _EMPTY
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for entry in value:
            if isinstance(entry, dict):
                name = entry.get("Name")
                if type(name) is str and name:
                    out[name] = entry.get("Value")
        return out
    if type(value) is str:
        return parse_powershell_parameters(value)
    return _EMPTY


# -Name "quoted value" | -Name ("a","b") | -Name bare | -Switch
_PS_PARAM: Final = re.compile(r'(?:^|\s)-(\w+)(?:\s+("[^"]*"|\([^)]*\)|[^\s"(-]\S*))?')
_PS_ITEM: Final = re.compile(r'"([^"]*)"|([^,\s()"]+)')


def parse_powershell_parameters(text: str) -> dict[str, Any]:
    """Best-effort ``-Name "v" -List ("a","b") -Switch`` → ``{"Name": "v", "List": ["a", "b"],
    "Switch": True}``; text that holds no parameter gives ``{}``. Never raises."""
    out: dict[str, Any] = {}
    for name, value in _PS_PARAM.findall(text):
        if not value:  # the value group never matches empty text: this is a switch
            out[name] = True
        elif value.startswith('"'):
            out[name] = value[1:-1]
        elif value.startswith("("):
            out[name] = [quoted or bare for quoted, bare in _PS_ITEM.findall(value)]
        else:
            out[name] = value
    return out


# ---------------------------------------------------------------- details
# The loops over every field of a record spell _present out: the call costs more than the test.


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != "<null>"


def _details(
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
            elif _present(value) and not isinstance(value, (dict, list)):
                out[fields[key]] = value
    get = raw.get
    server = out.get("originating_server")
    if type(server) is str:  # Exchange ends it with a newline
        out["originating_server"] = server.strip()
    number = _int(get("UserType"))
    if number is not None:
        out["user_type"] = USER_TYPES.get(number) or str(number)
    if "LogonType" in raw:  # Exchange mailbox records
        logon = _int(raw["LogonType"])
        if logon is not None:
            out["logon_type"] = LOGON_TYPES.get(logon) or str(logon)
    if "AlertId" in raw:
        for key, name in _ALERT_FIELDS.items():
            value = get(key)
            if _present(value):
                out[name] = value
        data = get("Data")
        if type(data) is str and data.startswith("{"):
            out["alert.data"] = _json(data)

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
            _put_present(out, prefix, _name_values(section))
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
                    item = _unwrap(entry.get(key))
                    if item is not None and item != "" and item != "<null>":
                        out[f"modified.{name}.{side}"] = item


def _unwrap(value: Any) -> Any:
    """Azure AD writes values as JSON arrays in a string (``'[\\r\\n  true\\r\\n]'``): a
    one-element array becomes its element, any other array a list; other text stays text."""
    if type(value) is str and value.startswith("[") and value.endswith("]"):
        parsed = _json(value)
        if isinstance(parsed, list):
            return parsed[0] if len(parsed) == 1 else parsed or None
    return value


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
            if _present(value):
                out[name] = value
        folder = item.get("ParentFolder")
        if isinstance(folder, dict):
            for key, name in (
                ("Path", "item.folder"),
                ("MemberUpn", "folder.member_upn"),
                ("MemberRights", "folder.member_rights"),
            ):
                value = folder.get(key)
                if _present(value):
                    out[name] = value
    sender = get("Sender")
    if isinstance(sender, dict) and _present(sender.get("UPN")):
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
    """``rules`` is ``_dlp_rules(PolicyDetails)``, None when PolicyDetails is not a list."""
    if rules is not None:
        policies = get("PolicyDetails")
        lists = {
            "dlp.policies": [p.get("PolicyName") for p in policies if isinstance(p, dict)],
            "dlp.rules": [rule.get("RuleName") for rule in rules],
            "dlp.actions": [a for r in rules for a in _list(r.get("Actions"))],
            "dlp.sensitive_types": [
                info.get("SensitiveType")
                for rule in rules
                for info in _list(_dict(rule.get("ConditionsMatched")).get("SensitiveInformation"))
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
                if _present(value) and value != []:
                    out[name] = value
    exception = get("ExceptionInfo")
    if _present(exception):
        out["dlp.exception"] = _json(exception) if type(exception) is str else exception


# ---------------------------------------------------------------- targets


def _targets(raw: Mapping[str, Any], operation: str, params: dict[str, Any]) -> tuple[Target, ...]:
    """``params`` is ``_name_values(Parameters)``."""
    get = raw.get
    found: list[Target] = []
    object_id = _clean(get("ObjectId"))
    file_name = _clean(get("SourceFileName"))
    if file_name:
        found.append(Target(object_id, _clean(get("ItemType")) or "File", file_name))
    if "-" in operation:  # an Exchange cmdlet: Verb-Noun, the noun names what it acted on
        identity = _clean(params.get("Identity")) or object_id
        if identity:
            name = _clean(params.get("Name"))
            found.append(Target(identity, operation.partition("-")[2] or None, name))
        for key, kind in _PARAM_TARGETS.items():
            value = _clean(params.get(key))
            if value:
                found.append(Target(value, kind, value))
    if "TargetUserOrGroupName" in raw:  # a sharing record
        sharee = _clean(raw["TargetUserOrGroupName"])
        if sharee:
            found.append(Target(sharee, _clean(get("TargetUserOrGroupType")), sharee))
    aad = get("Target")
    if isinstance(aad, list):
        target = _aad_target(aad)
        if target is not None:
            found.append(target)
    modified = get("ModifiedProperties")
    if isinstance(modified, list):
        for entry in modified:
            if not isinstance(entry, dict):
                continue
            prop = entry.get("Name")
            # Name may be any JSON value; only a string can name a known property.
            target_type = _MODIFIED_TARGETS.get(prop) if isinstance(prop, str) else None
            if target_type:
                value = _clean(_unwrap(entry.get("NewValue")) or _unwrap(entry.get("OldValue")))
                if value:
                    found.append(Target(None, target_type, value))
    _mail_targets(get, found)
    if "TeamName" in raw or "Members" in raw:
        _team_targets(get, found)
    if "AlertId" in raw:
        alert = _clean(raw["AlertId"])
        if alert:
            found.append(Target(alert, "Alert", _clean(get("Name")), _clean(get("AlertEntityId"))))
    if object_id:
        for target in found:
            if object_id == target.id or object_id == target.alternate_id:
                break
        else:  # no target names the object yet
            found.append(Target(object_id, None, None))
    if len(found) == 1:  # the usual case: nothing to dedupe
        target = found[0]
        return (target,) if target.id or target.name else ()
    return tuple(_dedupe(found)[:_MAX_TARGETS])


def _aad_target(entries: list[Any]) -> Target | None:
    """Azure AD lists one object as several {ID, Type} facets (``User_<guid>``, ``<guid>``,
    ``User``, a name, a UPN, an SPN); they are folded back into one Target."""
    ident = kind = name = alternate = None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        value = _clean(entry.get("ID"))
        facet = _int(entry.get("Type"))
        if value is None:
            continue
        if facet in (0, 2):
            prefix, underscore, rest = value.partition("_")
            if underscore and rest:
                kind = kind or prefix
                ident = ident or rest
            elif "-" in value or any(c.isdigit() for c in value):
                ident = ident or value
            else:
                kind = kind or value  # a bare class name: "User", "ServicePrincipal"
        elif facet == 1:
            name = name or value
        elif facet in (4, 5):
            alternate = alternate or value
    if ident is None and name is None and alternate is None:
        return None
    return Target(ident, kind, name or alternate, alternate)


def _mail_targets(get: Callable[[str], Any], found: list[Target]) -> None:
    item = get("Item")
    if isinstance(item, dict):
        message_id = _clean(item.get("InternetMessageId"))
        found.append(
            Target(_clean(item.get("Id")), "MailItem", _clean(item.get("Subject")), message_id)
        )
    affected = get("AffectedItems")
    if isinstance(affected, list):
        for entry in affected:
            if isinstance(entry, dict):
                found.append(
                    Target(
                        _clean(entry.get("Id")),
                        "MailItem",
                        _clean(entry.get("Subject")),
                        _clean(entry.get("InternetMessageId")),
                    )
                )
    owner = _clean(get("MailboxOwnerUPN"))
    if owner:
        found.append(Target(_clean(get("MailboxGuid")), "Mailbox", owner, owner))
    meta = get("SharePointMetaData")
    if isinstance(meta, dict):
        url = _clean(meta.get("FilePathUrl"))
        if url:
            found.append(Target(url, "File", _clean(meta.get("FileName"))))
    meta = get("ExchangeMetaData")
    if isinstance(meta, dict):
        message = _clean(meta.get("MessageID"))
        if message:
            found.append(Target(message, "MailItem", _clean(meta.get("Subject"))))


def _team_targets(get: Callable[[str], Any], found: list[Target]) -> None:
    team = _clean(get("TeamName"))
    if team:
        found.append(Target(_clean(get("TeamGuid")), "Team", team))
    members = get("Members")
    if isinstance(members, list):
        for member in members:
            if isinstance(member, dict):
                upn = _clean(member.get("UPN"))
                found.append(Target(upn, "User", _clean(member.get("DisplayName")) or upn, upn))


def _dedupe(targets: list[Target]) -> list[Target]:
    seen: set[tuple[str | None, str | None, str | None]] = set()
    kept = []
    for target in targets:
        key = (target.id, target.type, target.name)
        if key not in seen and (target.id or target.name):
            seen.add(key)
            kept.append(target)
    return kept
