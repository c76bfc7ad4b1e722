"""Score alerts against a plan's ground truth (``ground-truth.json``): per detector, true
positives, false positives and false negatives, and the aggregate recall and false-alert rate.

An alert *matches* a ground-truth entry when one of its evidence activities is one of the
entry's records (``activity_ids``: Okta ``uuid`` and Office 365 ``Id`` values) and its
detector is one that :data:`DETECTED_BY` lists for the entry's ``expected_detection``. Then:

* an alert that matches an attack is a **true positive** (the attack is detected);
* an alert whose evidence touches an attack's records but that no attack's kind explains
  (e.g. an infrequent-country alert on the foreign sign-in that opens a mass download) is
  **on an attack, other kind**: reported, neither true nor false;
* every other alert is a **false positive**: everyday activity is benign by construction,
  and a benign look-alike (``expected_detection`` ``"none"``) must raise nothing;
* an attack that no alert of a detector it lists matches is that detector's **false
  negative**; the attack is *missed* when every detector it lists missed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DETECTED_BY", "DetectorScore", "Score", "ScoredAlert", "score"]

DETECTED_BY: Mapping[str, tuple[str, ...]] = {
    # expected_detection -> the detectors (anomaly ids, policy template ids) that detect it
    "impossible_travel": ("anomaly.impossible_travel",),
    "cross_app_impossible_travel": ("anomaly.impossible_travel",),
    "infrequent_country": ("anomaly.infrequent_country",),
    "anonymous_proxy": ("anomaly.anonymous_ip", "risky-ip-sign-in"),
    "brute_force": ("anomaly.failed_signins", "failed-sign-ins"),
    "password_spray": ("anomaly.password_spray", "password-spray"),
    "mfa_fatigue": ("anomaly.mfa_fatigue", "mfa-push-bombing"),
    "mass_download": ("anomaly.mass_download", "mass-download"),
    "mass_deletion": ("anomaly.mass_delete", "mass-deletion"),
    "ransomware": ("anomaly.ransomware", "potential-ransomware"),
    "malicious_inbox_rule": (
        "anomaly.suspicious_forwarding",
        "suspicious-inbox-rule",
        "external-mail-forwarding",
    ),
    "external_forwarding": ("anomaly.suspicious_forwarding", "external-mail-forwarding"),
    "privilege_escalation": ("new-super-admin",),
    "api_token_created": ("api-token-created",),
    "mfa_reset": ("anomaly.mfa_reenrolment", "mfa-disabled-or-reset"),
    "activity_after_disable": ("anomaly.disabled_user_activity",),
    "risky_oauth_consent": ("risky-oauth-consent",),
}
"""Which detectors count as detecting each ``expected_detection`` of the scenario plan."""


@dataclass(frozen=True, slots=True)
class ScoredAlert:
    """An alert as scoring needs it: its detector, its evidence as source event ids, and
    what it says (for the report)."""

    policy_id: str
    evidence: tuple[str, ...]
    entity: str = ""
    explanation: str = ""
    first_time: str = ""


@dataclass(slots=True)
class DetectorScore:
    """One detector's counts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    other: int = 0
    """Alerts on an attack's records that no attack's kind explains."""


@dataclass(slots=True)
class Score:
    """The result of :func:`score`."""

    detectors: dict[str, DetectorScore] = field(default_factory=dict)
    attacks: int = 0
    detected: int = 0
    missed: list[str] = field(default_factory=list)
    """``scenario (victim)`` of each attack no detector caught."""
    false_alerts: list[ScoredAlert] = field(default_factory=list)
    benign_alerted: list[str] = field(default_factory=list)
    """``scenario (victim): detector`` for each alert on a benign look-alike's records."""

    @property
    def recall(self) -> float:
        return self.detected / self.attacks if self.attacks else 1.0


def score(
    truth: Mapping[str, Any], alerts: Iterable[ScoredAlert], detectors: Sequence[str] = ()
) -> Score:
    """Score ``alerts`` against ``truth`` (the ground-truth file's content). ``detectors``
    lists every detector that ran, so that one that raised nothing still gets a row."""
    entries = truth["scenarios"]
    by_record: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        for rid in e["activity_ids"]:
            by_record.setdefault(rid, []).append(i)
    out = Score(detectors={d: DetectorScore() for d in detectors})
    caught: dict[int, set[str]] = {}
    for alert in alerts:
        row = out.detectors.setdefault(alert.policy_id, DetectorScore())
        hit = sorted({i for rid in alert.evidence for i in by_record.get(rid, ())})
        attacks = [i for i in hit if entries[i]["kind"] == "attack"]
        matched = [
            i
            for i in attacks
            if alert.policy_id in DETECTED_BY.get(entries[i]["expected_detection"], ())
        ]
        for i in matched:
            caught.setdefault(i, set()).add(alert.policy_id)
        if matched:
            row.tp += 1
        elif attacks:
            row.other += 1
        else:
            row.fp += 1
            out.false_alerts.append(alert)
            out.benign_alerted += [
                f"{entries[i]['scenario']} ({entries[i]['victim']}): {alert.policy_id}" for i in hit
            ]
    for i, e in enumerate(entries):
        if e["kind"] != "attack":
            continue
        out.attacks += 1
        expected = DETECTED_BY.get(e["expected_detection"], ())
        got = caught.get(i, set())
        for d in expected:
            if d in out.detectors and d not in got:
                out.detectors[d].fn += 1
        if got:
            out.detected += 1
        else:
            out.missed.append(f"{e['scenario']} ({e['victim']}, {e['expected_detection']})")
    return out
