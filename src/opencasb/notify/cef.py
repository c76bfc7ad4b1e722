"""Alert events as ArcSight CEF, with the commercial product's field map.

Defender for Cloud Apps' SIEM agent sends alerts as
``CEF:0|MCAS|SIEM_Agent|<ver>|ALERT_CABINET_EVENT_MATCH_AUDIT|<policy>|3|<extension>`` with
the extension keys ``externalId``, ``rt``, ``start``, ``end``, ``msg``, ``suser``,
``destinationServiceName``, ``src``/``c6a1``, ``cs1``-``cs4`` (portalURL,
uniqueServiceAppIds, relatedAudits, policyIDs) and ``cn1`` (riskScore). We keep the same
signature id and keys, so a SIEM parser written for it reads ours, and differ where we have
more to say:

* vendor and product are ``OpenCASB|OpenCASB``; the name is the alert's title;
* the severity follows the alert's (informational 1, low 3, medium 6, high 8; the
  product sends 3 for every alert);
* ``cs1`` (portalURL) is left out: there is no portal URL; ``cn1`` (riskScore) likewise;
* added: ``act`` (opened, extended, closed, commented, test), ``cat`` (category),
  ``outcome`` (open, or the resolution), ``cs5`` mitreTactic, ``cs6`` eventId (the
  idempotency key) and ``cn2`` historical (1 for an alert raised from a backfill).

Escaping (CEF spec, "Character encoding"): in the header, ``\\`` and ``|`` are escaped with a
backslash; in extension values ``\\`` and ``=`` are, and a line break is written ``\\n`` or
``\\r``. Header fields cannot carry a line break at all, so one becomes a space there. Other
control characters but the tab (which the spec does not mention, and which break syslog
receivers and terminals) become a space everywhere. Times are milliseconds since the epoch.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

from opencasb import __version__
from opencasb.notify.payload import Outgoing

__all__ = ["SIGNATURE", "cef_message", "escape_extension", "escape_header"]

SIGNATURE = "ALERT_CABINET_EVENT_MATCH_AUDIT"
CEF_SEVERITY = {"informational": 1, "low": 3, "medium": 6, "high": 8}
MAX_MSG = 2000  # characters of the explanation; receivers cut long syslog lines
MAX_AUDITS = 50  # evidence ids in cs3

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def escape_header(value: str) -> str:
    """A CEF header field: ``\\`` and ``|`` escaped, line breaks and controls as spaces.

    The escaping comes first, so no escape sequence it writes is blanked afterwards."""
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return _CONTROLS.sub(" ", value.replace("\r", " ").replace("\n", " "))


def escape_extension(value: str) -> str:
    """A CEF extension value: ``\\`` and ``=`` escaped, line breaks as ``\\n``/``\\r``,
    other controls as spaces."""
    value = value.replace("\\", "\\\\").replace("=", "\\=")
    value = value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")
    return _CONTROLS.sub(" ", value)


def _millis(iso: Any) -> str | None:
    if not iso:
        return None
    return str(int(datetime.fromisoformat(str(iso)).timestamp() * 1000))


def cef_message(out: Outgoing) -> str:
    """The CEF line of ``out`` (no syslog header; see module doc for the field map)."""
    a = out.event.alert
    severity = str(a.get("severity") or "")
    title = str(a.get("title") or a.get("policy_id") or "alert")
    header = "|".join(
        [
            "CEF:0",
            "OpenCASB",
            "OpenCASB",
            escape_header(__version__),
            SIGNATURE,
            escape_header(title),
            str(CEF_SEVERITY.get(severity, 3)),
        ]
    )
    ents = out.entities
    ips = [ipaddress.ip_address(ip) for ip in ents.ips if _is_ip(ip)]
    v4 = next((str(ip) for ip in ips if ip.version == 4), None)
    v6 = next((str(ip) for ip in ips if ip.version == 6), None)
    evidence = [str(i) for i in (a.get("evidence") or [])][:MAX_AUDITS]
    explanation = str(a.get("explanation") or "")
    if len(explanation) > MAX_MSG:
        explanation = explanation[:MAX_MSG] + "..."
    outcome = str(a.get("resolution") or a.get("status") or "")
    pairs: list[tuple[str, str | None]] = [
        ("externalId", str(a.get("id") or "")),
        ("rt", str(int(out.event.created_at.timestamp() * 1000))),
        ("start", _millis(a.get("first_time"))),
        ("end", _millis(a.get("last_time"))),
        ("act", out.kind),
        ("cat", str(a.get("category") or "") or None),
        ("outcome", outcome or None),
        ("msg", explanation or None),
        ("suser", str(a.get("entity") or "") or None),
        ("destinationServiceName", ", ".join(ents.apps) or None),
        ("src", v4),
        ("c6a1Label", "Device IPv6 Address" if v6 else None),
        ("c6a1", v6),
        ("cs2Label", "uniqueServiceAppIds"),
        ("cs2", ",".join(ents.apps)),
        ("cs3Label", "relatedAudits"),
        ("cs3", ",".join(evidence)),
        ("cs4Label", "policyIDs"),
        ("cs4", str(a.get("policy_id") or "")),
        ("cs5Label", "mitreTactic"),
        ("cs5", str(a.get("tactic") or "")),
        ("cs6Label", "eventId"),
        ("cs6", out.event.key),
        ("cn2Label", "historical"),
        ("cn2", "1" if a.get("historical") else "0"),
    ]
    ext = " ".join(f"{k}={escape_extension(v)}" for k, v in pairs if v is not None)
    return f"{header}|{ext}"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
