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

The record's ``details`` are built in :mod:`.details`, its targets in :mod:`.targets`, both
with the coercers of :mod:`.values`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from opencasb.apps.office365.details import FIELDS, details_of, dlp_rules, severity_of
from opencasb.apps.office365.ip import parse_client_ip
from opencasb.apps.office365.operations import RECORD_TYPES, USER_TYPES, app_name, classify
from opencasb.apps.office365.targets import targets_of
from opencasb.apps.office365.values import (
    EMPTY,
    as_int,
    as_str,
    clean,
    json_or_text,
    looks_like_email,
    name_values,
    parse_powershell_parameters,
)
from opencasb.cache import BoundedCache
from opencasb.errors import NormalizeError
from opencasb.model.activity import Activity, Actor, Category, Outcome

__all__ = ["APP", "FIELDS", "normalize", "parse_powershell_parameters"]

APP: Final = "office365"

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

    operation = as_str(get("Operation")) or ""
    record_type = as_int(get("RecordType"))
    status = as_str(get("ResultStatus"))
    o365_app, category, action, outcome, type_name, head = _kind(
        operation, record_type, as_str(get("Workload")), status
    )
    ext = name_values(get("ExtendedProperties"))
    client = parse_client_ip(
        get("ClientIP") or get("ClientIPAddress") or get("ActorIpAddress") or None
    )
    device_props = name_values(get("DeviceProperties"))
    # Parsed once for details and targets: a PowerShell-style text costs two regexes.
    parameters = get("Parameters")
    params = name_values(parameters) if parameters else EMPTY
    policies = get("PolicyDetails")
    rules = dlp_rules(policies) if isinstance(policies, list) else None

    details = details_of(raw, ext, device_props, params, rules)
    details["o365_app"] = o365_app
    if record_type is not None:
        details["record_type"] = record_type
        if type_name:
            details["record_type_name"] = type_name
    if client.host:
        details["client_host"] = client.host
    if client.port is not None:
        details["client_port"] = client.port

    targets = targets_of(raw, operation, params)
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
        severity=severity_of(raw, rules),
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
    name = clean(user_id) or clean(yammer_user)
    ident = name or clean(user_key)
    email = name.lower() if name and looks_like_email(name) else None
    number = as_int(user_type)
    kind = USER_TYPES.get(number) if number is not None else None
    return Actor(ident, name or ident, email, kind or clean(user_type))


def _reason(get: Callable[[str], Any], ext: dict[str, Any]) -> str | None:
    error = clean(get("LogonError")) or (clean(ext.get("LoginError")) if ext else None)
    if error:
        return error
    number = as_str(get("ErrorNumber"))
    return f"AADSTS{number}" if number and number != "0" else None


def _user_agent(get: Callable[[str], Any], ext: dict[str, Any]) -> str | None:
    agent = clean(get("UserAgent"))
    if agent or not ext:
        return agent
    agent = clean(ext.get("UserAgent"))
    if agent:
        return agent
    extra = ext.get("additionalDetails")  # Azure AD directory events: '{"User-Agent": "..."}'
    if type(extra) is str and extra.startswith("{") and len(extra) > 2:
        parsed = json_or_text(extra)
        if isinstance(parsed, dict):
            return clean(parsed.get("User-Agent"))
    return None


def _device(props: dict[str, Any]) -> str | None:
    """A short "OS / browser" label from Azure AD ``DeviceProperties``."""
    if not props:
        return None
    system, browser = clean(props.get("OS")), clean(props.get("BrowserType"))
    if system and browser:
        return f"{system} / {browser}"
    return system or browser or clean(props.get("DisplayName"))
