"""Sigma's Okta and Microsoft 365 field names onto OpenCASB's filter fields, as a pySigma
processing pipeline.

Which rules: ``logsource: product: okta`` (service ``okta`` or none) and ``product: m365``
with a service from :data:`M365_SERVICES`; anything else is not evaluated, and said so
(:func:`logsource_problem`).

Okta rules name the System Log ``LogEvent``'s own keys, in any case (SigmaHQ writes
``eventtype``, ``displaymessage``, ``actor.alternateid``): each part of the name is looked up
without regard to case in the LogEvent's schema (:data:`OKTA_SCHEMA`) and read from the
record as received, ``raw.<path>``, so that the semantics are Okta's own. Below the
open-ended objects (``debugContext.debugData``, ``transaction.detail``, ``device``, the
``detailEntry`` maps) the rest of the name is kept as written. ``eventType`` is the activity's
``activity_type`` (the normalizer copies it), which lets the engine hand the rule only the
activities of that type.

Microsoft 365 rules name either SigmaHQ's generic fields (``eventSource`` is the record's
``Workload``, ``eventName`` its ``Operation`` or the alert name of a Security & Compliance
alert record (:data:`EVENT_NAME`), ``status`` the outcome: ``success`` and
``failure`` in the normalizer's sense, which reads ``Succeeded``, ``True`` and the like) or
the Unified Audit Log record's own PascalCase keys, read as received (``raw.UserId``). Three
need the normalizer's help: ``ClientIP`` is ``src_ip`` (the address without the port the
record may carry), ``Parameters.<Name>`` an Exchange cmdlet parameter (Microsoft sends a
Name/Value list or a PowerShell string; both are parsed into ``details``),
``ModifiedProperties.<Name>.NewValue``/``.OldValue`` and ``ExtendedProperties.<Name>`` the
parsed name/value lists.

A name that fits none of these is mapped to ``UNKNOWN_PREFIX + name`` by the pipeline, and the
converter reports it ("unknown field"), so that no rule silently matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldFunctionTransformation
from sigma.rule import SigmaLogSource

__all__ = [
    "EVENT_NAME",
    "M365_SERVICES",
    "OKTA_SCHEMA",
    "UNKNOWN_PREFIX",
    "app_guard",
    "logsource_problem",
    "m365_field",
    "okta_field",
    "pipeline",
]

UNKNOWN_PREFIX: Final = "?"
"""Marks a Sigma field name the pipeline could not map (no filter field starts with it)."""

OPEN: Final = "*"
"""A schema node whose keys are open-ended: the rest of the name is kept as written."""

_GEO: Final[dict[str, object]] = {
    "city": {},
    "state": {},
    "country": {},
    "postalCode": {},
    "geolocation": {"lat": {}, "lon": {}},
}
_PRINCIPAL: Final[dict[str, object]] = {
    "id": {},
    "type": {},
    "alternateId": {},
    "displayName": {},
    "detailEntry": OPEN,
}

OKTA_SCHEMA: Final[Mapping[str, object]] = {
    "uuid": {},
    "published": {},
    "eventType": {},
    "version": {},
    "severity": {},
    "legacyEventType": {},
    "displayMessage": {},
    "actor": _PRINCIPAL,
    "target": {**_PRINCIPAL, "changeDetails": OPEN},
    "client": {
        "userAgent": {"rawUserAgent": {}, "os": {}, "browser": {}},
        "zone": {},
        "device": {},
        "id": {},
        "ipAddress": {},
        "geographicalContext": _GEO,
    },
    "device": OPEN,
    "outcome": {"result": {}, "reason": {}},
    "request": {
        "ipChain": {"ip": {}, "version": {}, "source": {}, "geographicalContext": _GEO},
    },
    "securityContext": {"asNumber": {}, "asOrg": {}, "isp": {}, "domain": {}, "isProxy": {}},
    "authenticationContext": {
        "authenticationProvider": {},
        "credentialProvider": {},
        "credentialType": {},
        "issuer": {"id": {}, "type": {}},
        "externalSessionId": {},
        "interface": {},
        "authenticationStep": {},
        "rootSessionId": {},
    },
    "debugContext": {"debugData": OPEN},
    "transaction": {"id": {}, "type": {}, "detail": OPEN},
}
"""The Okta System Log ``LogEvent`` (developer.okta.com, System Log API): each key and what
is below it; ``{}`` is a value, :data:`OPEN` an object with keys of its own."""

_OKTA_FIELDS: Final = {"eventtype": "activity_type"}


def okta_field(name: str) -> str:
    """The filter field of an Okta rule's field ``name`` (module docstring)."""
    special = _OKTA_FIELDS.get(name.casefold())
    if special is not None:
        return special
    parts = name.split(".")
    node: object = OKTA_SCHEMA
    out: list[str] = []
    for i, part in enumerate(parts):
        if node == OPEN:
            out.extend(parts[i:])
            break
        if not isinstance(node, Mapping) or not part:
            return UNKNOWN_PREFIX + name
        key = next((k for k in node if k.casefold() == part.casefold()), None)
        if key is None:
            return UNKNOWN_PREFIX + name
        out.append(key)
        node = node[key]
    else:
        if node == OPEN or node:  # a whole object, not a value
            return UNKNOWN_PREFIX + name
    return "raw." + ".".join(out)


M365_SERVICES: Final[Mapping[str, tuple[str, ...]]] = {
    # service -> the record Workloads it covers (empty: every Microsoft 365 record)
    "audit": (),
    "threat_management": (),
    "threat_detection": (),
    "exchange": ("Exchange",),
    "sharepoint": ("SharePoint", "OneDrive"),
    "onedrive": ("OneDrive",),
    "azuread": ("AzureActiveDirectory",),
    "azureactivedirectory": ("AzureActiveDirectory",),
    "teams": ("MicrosoftTeams",),
}
"""The ``m365`` services OpenCASB evaluates: SigmaHQ's (``audit``, ``exchange``,
``threat_management``, ``threat_detection``) and one per Office 365 workload."""

_M365_FIELDS: Final = {
    "eventsource": "raw.Workload",
    "eventname": "m365.eventName",  # see EVENT_NAME
    "operation": "activity_type",
    "status": "outcome",
    "clientip": "src_ip",
}
EVENT_NAME: Final = "m365.eventName"
"""SigmaHQ's ``eventName``: the record's ``Operation``, or, on a Security & Compliance alert
record (Workload ``SecurityComplianceCenter``, Operation ``AlertTriggered``...), the alert's
``Name`` ("Impossible travel activity"), which is what SigmaHQ's threat_management rules
name. The converter spells out that choice (:mod:`.convert`)."""

_M365_LISTS: Final = {
    # record key (case-folded) -> (details prefix, sub-keys allowed after the name)
    "parameters": ("param", {}),
    "extendedproperties": ("ext", {}),
    "modifiedproperties": ("modified", {"newvalue": "new", "oldvalue": "old"}),
}


def m365_field(name: str) -> str:
    """The filter field of a Microsoft 365 rule's field ``name`` (module docstring)."""
    folded = name.casefold()
    special = _M365_FIELDS.get(folded)
    if special is not None:
        return special
    head, _, rest = name.partition(".")
    listed = _M365_LISTS.get(head.casefold())
    if listed is not None:
        prefix, sides = listed
        if not rest:
            return UNKNOWN_PREFIX + name
        if sides:
            key, _, side = rest.rpartition(".")
            mapped = sides.get(side.casefold())
            if not key or mapped is None:
                return UNKNOWN_PREFIX + name
            return f"details.{prefix}.{key}.{mapped}"
        return f"details.{prefix}.{rest}"
    # The Unified Audit Log's own keys are PascalCase (Workload, UserId, ObjectId, ...).
    if head[:1].isupper() and all(p and p.isidentifier() for p in name.split(".")):
        return "raw." + name
    return UNKNOWN_PREFIX + name


def logsource_problem(logsource: SigmaLogSource) -> str | None:
    """Why a rule of ``logsource`` is not evaluated, or None when it is."""
    product = (logsource.product or "").casefold()
    service = (logsource.service or "").casefold()
    shown = ", ".join(
        f"{k}: {v}"
        for k, v in (
            ("category", logsource.category),
            ("product", logsource.product),
            ("service", logsource.service),
        )
        if v
    )
    supported = (
        "OpenCASB evaluates product okta and product m365 (services "
        + ", ".join(M365_SERVICES)
        + ")"
    )
    if logsource.category:
        return f"unsupported logsource ({shown}): categories are not mapped; {supported}"
    if product == "okta" and service in ("", "okta"):
        return None
    if product == "m365" and service in M365_SERVICES:
        return None
    return f"unsupported logsource ({shown or 'none'}): {supported}"


def app_guard(logsource: SigmaLogSource) -> tuple[str, tuple[str, ...]]:
    """The OpenCASB app of a supported logsource and the Office 365 workloads it is limited
    to (empty: any)."""
    if (logsource.product or "").casefold() == "okta":
        return "okta", ()
    return "office365", M365_SERVICES[(logsource.service or "").casefold()]


def _item(product: str, mapper: Callable[[str], str]) -> ProcessingItem:
    def transform(name: str | None) -> str:
        # Keyword detections (no field) stay as they are: the converter reports them.
        return mapper(name) if name is not None else ""

    return ProcessingItem(
        identifier=f"opencasb_{product}_fields",
        transformation=FieldFunctionTransformation(mapping={}, transform_func=transform),
        rule_conditions=[LogsourceCondition(product=product)],
    )


def pipeline() -> ProcessingPipeline:
    """The field-mapping pipeline for Okta and Microsoft 365 rules (a new one per use: pySigma
    pipelines keep state while they apply)."""
    return ProcessingPipeline(
        name="OpenCASB Okta and Microsoft 365 fields",
        items=[_item("okta", okta_field), _item("m365", m365_field)],
    )
