"""Read Office 365 audit exports from disk: JSON records, or the Purview audit-search CSV.

The Management Activity API keeps 7 days; older history comes from files the user exports:

* the API's records themselves: JSON lines (one record per line), a JSON array (a content
  blob), or an object wrapping an array (``{"value": [...]}``);
* the CSV of Microsoft Purview audit search ("Export results"): ``RecordId, CreationDate,
  RecordType, Operation, UserId, AuditData`` (newer exports add ``AssociatedAdminUnits...``;
  older ones and ``Search-UnifiedAuditLog | Export-Csv`` have ``CreationDate, UserIds,
  Operations, AuditData`` and more). Only ``AuditData`` matters: it holds the whole record as
  a JSON string, which is what is imported; the other columns are summaries of it.

Contract:
    * :func:`read_office365_export` yields each audit record as a ``dict``, in file order,
      and each record it cannot read as a :class:`BadRecord` (a row whose AuditData is not a
      JSON object, a JSON line that does not parse), so the caller can quarantine it; a
      malformed record never stops the import.
    * The format is told by content, not by the file name: JSON when the first non-blank
      byte is ``{`` or ``[``, CSV when the first line is a header with an ``AuditData``
      column. Gzip, a byte-order mark and UTF-16 are handled as in
      :mod:`opencasb.formats.exports`, as is the ``#TYPE`` line Windows PowerShell writes.
    * JSON lines and CSV are streamed: memory grows with the largest record, not the file.
    * A JSON record that is an envelope (``AuditData`` beside summary fields, as
      ``Search-UnifiedAuditLog | ConvertTo-Json`` writes) is unwrapped like a CSV row.
    * Reading a CSV raises the process-wide ``csv.field_size_limit`` to :data:`FIELD_LIMIT`
      (never lowers it): AuditData cells are often larger than the 128 KiB default.

    * Each record is conformed to the API's shape (:mod:`opencasb.formats.conform`): top-level
      keys in other casing (``creationtime``, ``ID``), ``CreationTime`` as
      ``YYYY-MM-DD HH:MM:SS[.fff]`` with or without a UTC zone, and no ``Id`` (one is derived
      from the content), as SIEMs and detection tools export them.

Raises ConfigError when the file cannot be read, or is a CSV without an AuditData column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any, Final

import orjson

from opencasb.errors import ConfigError
from opencasb.formats.conform import Shape, conform
from opencasb.formats.exports import (
    BadRecord,
    Line,
    describe_kind,
    export_lines,
    first_content_line,
    read_json_records,
    reading_export,
    text_of,
)

__all__ = [
    "FIELD_LIMIT",
    "OFFICE365_SHAPE",
    "BadRecord",
    "conform_office365",
    "read_office365_export",
]

FIELD_LIMIT: Final = 64 * 1024 * 1024
"""Largest CSV cell read (bytes, roughly); a larger one is a BadRecord, not a memory blow-up."""

_FIX: Final = (
    "give a file of Office 365 audit records: JSON lines or a JSON array of Management "
    "Activity API records, or the CSV from Microsoft Purview audit search (Export results)"
)
# Only an audit record (or an envelope around one) has these; anything else may wrap an array.
_RECORD_KEYS: Final = ("Id", "CreationTime", "RecordType", "Operation", "AuditData", "auditData")
_ENVELOPE_KEYS: Final = ("AuditData", "auditData")  # Purview/PowerShell, Microsoft Graph
_HEADER_CELL: Final = re.compile(r"[A-Za-z_][\w .()-]{0,99}")
_EXCEL_CELL_LIMIT: Final = 32_767

# The common schema's and the workloads' top-level keys that the normalizer reads; inside a
# record only the name/value pairs are conformed (Id and ID both occur there). A key Microsoft
# spells two ways is listed both ways, so that neither is renamed.
_TOP: Final = frozenset(
    [
        "Id",
        "RecordType",
        "CreationTime",
        "Operation",
        "OrganizationId",
        "UserType",
        "UserKey",
        "Workload",
        "ResultStatus",
        "ObjectId",
        "UserId",
        "ClientIP",
        "ClientIPAddress",
        "ActorIpAddress",
        "UserAgent",
        "Scope",
        "Version",
        "SiteUrl",
        "Site",
        "WebId",
        "ListId",
        "ListItemUniqueId",
        "ItemType",
        "EventSource",
        "SourceFileName",
        "SourceFileExtension",
        "SourceRelativeUrl",
        "DestinationFileName",
        "DestinationFileExtension",
        "DestinationRelativeUrl",
        "CorrelationId",
        "Actor",
        "Target",
        "ActorContextId",
        "TargetContextId",
        "ExtendedProperties",
        "ModifiedProperties",
        "Parameters",
        "AzureActiveDirectoryEventType",
        "ApplicationId",
        "ApplicationDisplayName",
        "InterSystemsId",
        "IntraSystemId",
        "SupportTicketId",
        "ErrorNumber",
        "LogonError",
        "DeviceProperties",
        "MailboxGuid",
        "MailboxOwnerUPN",
        "MailboxOwnerSid",
        "LogonType",
        "LogonUserSid",
        "InternalLogonType",
        "ClientInfoString",
        "ExternalAccess",
        "OrganizationName",
        "OriginatingServer",
        "Item",
        "AffectedItems",
        "Folders",
        "Folder",
        "ParentFolder",
        "OperationCount",
        "OperationProperties",
        "Messages",
        "TeamName",
        "TeamGuid",
        "Members",
        "ChannelName",
        "Severity",
        "Status",
        "Category",
        "AlertId",
        "AlertType",
        "AlertEntityId",
        "AlertLinks",
        "EntityType",
        "Name",
        "Comments",
        "Data",
        "Source",
        "PolicyId",
        "PolicyDetails",
        "SensitiveInfoDetectionIsIncluded",
        "ExchangeMetaData",
        "SharePointMetaData",
        "IncidentId",
        "TargetUserOrGroupName",
        "TargetUserOrGroupType",
        "UniqueSharingId",
        "EventData",
        "Subject",
        "Recipients",
        "SenderIp",
        "SenderIP",  # both spellings occur (by workload): neither is ever renamed
        "P1Sender",
        "P2Sender",
        "NetworkMessageId",
        "InternetMessageId",
        "DeliveryAction",
        "DetectionMethod",
        "Policy",
        "PolicyAction",
        "Verdict",
        "AppId",
        "ClientAppId",
        "AppAccessContext",
        "TokenTenantId",
        "GroupName",
        "ActorUserId",
        "ActorYammerUserId",
        "DataType",
    ]
)
OFFICE365_SHAPE: Final = Shape(
    id_key="Id",
    time_key="CreationTime",
    time_zone_suffix=False,
    top=_TOP,
    inner=frozenset({"ID", "Id", "Type", "Name", "Value", "NewValue", "OldValue"}),
)


def conform_office365(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` in the API's shape (:func:`~opencasb.formats.conform.conform` with
    :data:`OFFICE365_SHAPE`); what the reader yields for each record it reads."""
    return conform(record, OFFICE365_SHAPE)


def read_office365_export(path: Path) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield the audit records of an Office 365 export file, and a BadRecord for each bad one.

    Raises:
        ConfigError: the file cannot be opened or read, or it is a CSV without an AuditData
            column (the records are not in it).
    """
    for item in _read_export(path):
        yield item if isinstance(item, BadRecord) else conform(item, OFFICE365_SHAPE)


def _read_export(path: Path) -> Iterator[dict[str, Any] | BadRecord]:
    with reading_export(path, what="Office 365 export", fix=_FIX):
        lines = export_lines(path)
        first = first_content_line(lines)
        if first is not None and first[1].startswith(b"#TYPE"):
            first = first_content_line(lines)  # Windows PowerShell's Export-Csv type line
        if first is None:
            return
        if first[1].lstrip().startswith((b"{", b"[")):
            yield from _read_json(chain([first], lines))
            return
        header = _csv_cells(first[1])
        audit_column = _column(header, "auditdata")
        if audit_column is not None:
            yield from _read_csv(first[0], header, audit_column, lines)
        elif len(header) > 1 and all(_HEADER_CELL.fullmatch(cell) for cell in header):
            columns = ", ".join(header[:12])
            raise ConfigError(
                f"{path} is a CSV without an AuditData column (columns: {columns})",
                meaning="the full audit records are in AuditData; the other columns are "
                "only summaries, so there is nothing to import",
                fix="export again from Microsoft Purview audit search (Export results), or "
                "with Search-UnifiedAuditLog keeping the AuditData property",
            )
        else:
            # Neither JSON nor a CSV header: read it as JSON lines, so a stray first line is
            # one quarantined record and the rest of the file still imports.
            yield from _read_json(chain([first], lines))


def _read_json(lines: Iterable[Line]) -> Iterator[dict[str, Any] | BadRecord]:
    for item in read_json_records(lines, record_keys=_RECORD_KEYS):
        if isinstance(item, BadRecord):
            yield item
            continue
        position, record = item
        envelope = next((k for k in _ENVELOPE_KEYS if k in record), None)
        if envelope is None or "CreationTime" in record:
            yield record
        elif isinstance(inner := record[envelope], dict):
            yield inner
        elif isinstance(inner, str):
            yield _audit_data(position, inner, _record_id(record), orjson.dumps(record))
        else:
            text = text_of(orjson.dumps(record))
            yield BadRecord(position, text, f"{envelope} is {describe_kind(inner)}, not a record")


def _read_csv(
    header_line: int, header: list[str], audit_column: int, lines: Iterator[Line]
) -> Iterator[dict[str, Any] | BadRecord]:
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    id_column = _column(header, "recordid")
    # Decoding line by line is safe for UTF-8 (a newline byte is never inside a character);
    # surrogateescape keeps bad bytes, which then fail the JSON parse of their record only.
    text = (line.decode("utf-8", errors="surrogateescape") for _, line in lines)
    rows = csv.reader(text)
    consumed = 0  # lines the csv reader has taken, as rows can span lines
    while True:
        start = header_line + consumed + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over FIELD_LIMIT; the reader resumes on the next line
            consumed = rows.line_num
            yield BadRecord(start, "", f"unreadable CSV row: {exc}")
            continue
        consumed = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if audit_column >= len(row):
            error = f"the row has {len(row)} columns; AuditData is column {audit_column + 1}"
            yield BadRecord(start, _csv_text(row), error)
            continue
        record_id = row[id_column] if id_column is not None and id_column < len(row) else ""
        yield _audit_data(start, row[audit_column], record_id, _csv_text(row))


def _audit_data(
    where: int, cell: str, record_id: str, whole: str | bytes
) -> dict[str, Any] | BadRecord:
    """The record in an AuditData value, or a BadRecord saying why there is none.

    A bad record keeps the AuditData text when there is any (it is the record as found, and
    what someone fixing it needs), else the whole row or envelope.
    """
    of = f" of record {record_id}" if record_id else ""
    if not cell.strip():
        return BadRecord(where, text_of(whole), f"AuditData{of} is empty")
    try:
        value = orjson.loads(cell)
    except orjson.JSONDecodeError as exc:
        error = f"AuditData{of} is not valid JSON: {exc}"
        if len(cell) == _EXCEL_CELL_LIMIT:
            error += (
                " (cut at Excel's 32,767-character cell limit: export again and import the"
                " file without opening and saving it in Excel)"
            )
        return BadRecord(where, text_of(cell), error)
    if not isinstance(value, dict):
        return BadRecord(where, text_of(cell), f"AuditData{of} is {describe_kind(value)}")
    return value


def _record_id(envelope: dict[str, Any]) -> str:
    for key in ("RecordId", "Identity", "id"):
        if isinstance(value := envelope.get(key), str) and value:
            return value
    return ""


def _csv_cells(line: bytes) -> list[str]:
    row = next(csv.reader([text_of(line)]), [])
    return [cell.strip() for cell in row]


def _column(header: list[str], name: str) -> int | None:
    """Index of the column called ``name`` (compared in lower case), if there is one."""
    lowered = [cell.lower() for cell in header]
    return lowered.index(name) if name in lowered else None


def _csv_text(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return text_of(out.getvalue())
