"""The demo's policy set: the shipped templates that point at an attack, switched on, minus
the ones whose everyday matches in the demo organisation are routine work.

The built-in anomaly detections run beside these (they need no switching on). A template left
out here stays in the catalogue (``opencasb policies templates``) for an organisation whose
rules make its matches unusual; the reasons are in :data:`LEFT_OUT`. Measured with
``bench/bench_detection_quality.py``.
"""

from __future__ import annotations

import dataclasses

from opencasb.detect.policy import Policy, Scope
from opencasb.detect.templates import load_templates

__all__ = ["LEFT_OUT", "demo_policies"]

LEFT_OUT: dict[str, str] = {
    "anonymous-link-created": "people share files with anonymous links every day: a sharing "
    "governance report, not an attack signal",
    "admin-activity-non-corporate-ip": "the demo's administrators work from home too; for "
    "organisations that require admin work from the office or the VPN",
    "mfa-disabled-or-reset": "the help desk resets factors every week; the anomaly detection "
    "of a re-enrolment from an unusual place after a reset catches the takeover",
    "break-glass-account-used": "needs the break-glass account's address filled in",
}
"""Template id -> why the demo does not switch it on."""

_TRUSTED = frozenset({"corporate", "vpn"})
_SCOPES: dict[str, Scope] = {
    # administrators create API tokens for log collectors from the office or the VPN
    "api-token-created": Scope(exclude_ip_tags=_TRUSTED),
}


def demo_policies() -> list[Policy]:
    """The demo's policies, enabled, sorted by id."""
    out = []
    for p in load_templates():
        if p.id in LEFT_OUT:
            continue
        p = dataclasses.replace(p, enabled=True)
        if p.id in _SCOPES:
            p = dataclasses.replace(p, scope=_SCOPES[p.id])
        out.append(p)
    return out
