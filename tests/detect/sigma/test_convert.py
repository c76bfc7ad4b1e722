"""Sigma's condition and value semantics in the filter language: every supported modifier
matches what it should and nothing else; every unsupported thing is reported with its
reason, never dropped."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tests.detect.sigma.helpers import load_one, okta, policy_of

from opencasb.detect.policy import GroupBy, Severity, Tactic
from opencasb.model.activity import Activity

BASE: dict[str, Any] = {
    "uuid": "0f8e4d2a-0000-4000-8000-000000000001",
    "published": "2026-12-05T10:00:00.000Z",
    "eventType": "user.session.start",
    "displayMessage": "User login to Okta",
    "severity": "INFO",
    "actor": {"id": "00u1", "type": "User", "alternateId": "Ann.Lee@Example.com",
              "displayName": "Ann Lee"},
    "client": {"ipAddress": "198.51.100.23", "userAgent": {"rawUserAgent": "Mozilla/5.0 x"},
               "geographicalContext": {"country": "France", "city": "Paris"}},
    "outcome": {"result": "SUCCESS", "reason": None},
    "securityContext": {"asNumber": 64500, "isProxy": False},
    "debugContext": {"debugData": {"requestUri": "/api/v1/authn", "behaviors": "{New IP=POSITIVE}",
                                   "threatSuspected": "false"}},
    "target": [{"id": "0oa1", "type": "AppInstance", "alternateId": "Salesforce",
                "displayName": "Salesforce.com"}],
}  # fmt: skip


def event(**changes: Any) -> Activity:
    """The base Okta event with dotted-path changes (``None`` deletes the key)."""
    record = copy.deepcopy(BASE)
    for path, value in changes.items():
        *head, last = path.split("__")
        node = record
        for key in head:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return okta(record)


def sel(detection: dict[str, Any]) -> dict[str, Any]:
    return {"selection": detection, "condition": "selection"}


CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    # (selection, changes to the base event, expected match)
    ({"eventtype": "USER.SESSION.START"}, {}, True),  # text ignores case
    ({"eventtype|cased": "USER.SESSION.START"}, {}, False),
    ({"eventtype|cased": "user.session.start"}, {}, True),
    ({"displaymessage|contains": "LOGIN"}, {}, True),
    ({"displaymessage|contains": "logout"}, {}, False),
    ({"displaymessage|startswith": "user"}, {}, True),
    ({"displaymessage|startswith": "login"}, {}, False),
    ({"displaymessage|endswith": "okta"}, {}, True),
    ({"displaymessage|endswith": "user"}, {}, False),
    ({"displaymessage": "user*okta"}, {}, True),  # a wildcard inside: anchored pattern
    ({"displaymessage": "user*okta"}, {"displayMessage": "User login to Okta!"}, False),
    ({"displaymessage": "User login t? Okta"}, {}, True),
    ({"displaymessage": "User login t? Okta"}, {"displayMessage": "User login tooo Okta"}, False),
    ({"displaymessage": "*"}, {}, True),
    ({"displaymessage": "*"}, {"displayMessage": None}, False),
    ({"displaymessage|contains|all": ["login", "okta"]}, {}, True),
    ({"displaymessage|contains|all": ["login", "logout"]}, {}, False),
    ({"displaymessage|contains": ["logout", "okta"]}, {}, True),  # a list: any of
    ({"displaymessage|re": "^User .* Okta$"}, {}, True),
    ({"displaymessage|re": "^user .* okta$"}, {}, False),  # |re is case-sensitive
    ({"displaymessage|re|i": "^user .* okta$"}, {}, True),
    ({"client.ipAddress|cidr": "198.51.100.0/24"}, {}, True),
    ({"client.ipAddress|cidr": ["10.0.0.0/8", "2001:db8::/32"]}, {}, False),
    ({"securityContext.asNumber|gt": 64499}, {}, True),
    ({"securityContext.asNumber|gte": 64500}, {}, True),
    ({"securityContext.asNumber|lt": 64500}, {}, False),
    ({"securityContext.asNumber|lte": 64500}, {}, True),
    ({"securityContext.asNumber": 64500}, {}, True),
    ({"securityContext.asNumber": "64500"}, {}, True),  # text for a JSON number
    ({"securityContext.isProxy": "false"}, {}, True),  # text for a JSON boolean
    ({"securityContext.isProxy": False}, {}, True),
    ({"debugContext.debugData.threatSuspected": False}, {}, True),  # boolean for text
    ({"outcome.reason": None}, {}, True),  # null: not set
    ({"outcome.result": None}, {}, False),
    ({"debugContext.debugData.behaviors|exists": True}, {}, True),
    ({"debugContext.debugData.risk|exists": True}, {}, False),
    ({"debugContext.debugData.risk|exists": False}, {}, True),
    ({"target.alternateId|neq": "Salesforce"}, {}, False),
    ({"target.alternateId|neq": "Workday"}, {}, True),
    ({"target.displayName|endswith": ".com", "target.type": "appinstance"}, {}, True),
    ({"actor.alternateid": "ann.lee@example.com"}, {}, True),
]


@pytest.mark.parametrize(("selection", "changes", "expected"), CASES)
def test_values_and_modifiers(
    tmp_path: Path, selection: dict[str, Any], changes: dict[str, Any], expected: bool
) -> None:
    policy = policy_of(tmp_path, sel(selection))
    assert policy.matches(event(**changes)) is expected


def test_conditions_combine_selections(tmp_path: Path) -> None:
    detection = {
        "selection_start": {"eventtype": "user.session.start"},
        "selection_paris": {"client.geographicalContext.city": "paris"},
        "filter_proxy": {"securityContext.isProxy": True},
        "condition": "all of selection_* and not filter_proxy",
    }
    policy = policy_of(tmp_path, detection)
    assert policy.matches(event())
    assert not policy.matches(event(securityContext__isProxy=True))
    assert not policy.matches(event(client__geographicalContext={"city": "Lyon"}))
    anyof = dict(detection, condition="1 of selection_* and not filter_proxy")
    anyof_policy = policy_of(tmp_path, anyof)
    assert anyof_policy.matches(event(client__geographicalContext={"city": "Lyon"}))
    them = dict(detection, condition="all of them")
    assert not policy_of(tmp_path, them).matches(event())
    listed = {"a": {"eventtype": "nope"}, "b": {"eventtype": "user.session.start"}}
    assert policy_of(tmp_path, {**listed, "condition": ["a", "b"]}).matches(event())


def test_a_list_of_maps_is_or(tmp_path: Path) -> None:
    policy = policy_of(
        tmp_path,
        sel([{"eventtype": "nope"}, {"displaymessage|contains": "login", "severity": "info"}]),
    )
    assert policy.matches(event())
    assert not policy.matches(event(severity="WARN"))


def test_labels_from_the_rule(tmp_path: Path) -> None:
    policy = policy_of(
        tmp_path,
        sel({"eventtype": "x"}),
        title="Labels",
        level="critical",
        tags=["attack.credential-access", "attack.t1110.003", "attack.initial-access", "cve.x"],
    )
    assert policy.name == "Sigma: Labels"
    assert policy.severity is Severity.HIGH
    assert policy.tactic is Tactic.CREDENTIAL_ACCESS and policy.technique == "T1110.003"
    assert "level critical" in policy.note and "rule.yml" in policy.note
    informational = policy_of(tmp_path, sel({"eventtype": "x"}), level="informational")
    assert informational.severity is Severity.INFORMATIONAL


def _reasons(tmp_path: Path, detection: dict[str, Any] | str, **kw: Any) -> list[str]:
    loaded = load_one(tmp_path, detection, **kw)
    assert not loaded.rules
    assert loaded.problems
    return [p.reason for p in loaded.problems]


@pytest.mark.parametrize(
    ("detection", "kw", "expected"),
    [
        (
            sel({"displaymessage|base64offset|contains": "x"}),
            {},
            "unsupported modifier |base64offset on displaymessage: encodes the value",
        ),
        (sel({"displaymessage|windash": "-x"}), {}, "unsupported modifier |windash"),
        (sel({"displaymessage|fieldref": "eventtype"}), {}, "unsupported modifier |fieldref"),
        (sel({"published|hour": 3}), {}, "unsupported modifier |hour"),
        (
            {"keywords": ["mimikatz"], "condition": "keywords"},
            {},
            "keyword search for mimikatz: a value without a field is not supported",
        ),
        (
            sel({"eventName": "x"}),
            {},
            "unknown field 'eventName' for logsource product: okta",
        ),
        (
            sel({"eventtype": "x"}),
            {"product": "m365", "service": "audit"},
            "unknown field 'eventtype' for logsource product: m365, service: audit",
        ),
        (
            sel({"Image": "x"}),
            {"product": "windows", "service": "sysmon"},
            "unsupported logsource (product: windows, service: sysmon)",
        ),
        (
            sel({"Operation": "x"}),
            {"product": "m365", "service": "yammer"},
            "unsupported logsource (product: m365, service: yammer)",
        ),
        (sel({"eventtype|gt": 5}), {}, "a numeric comparison on activity_type, which holds text"),
        (sel({"displaymessage|cidr": "10.0.0.0/8"}), {}, None),  # raw: any value may be text
    ],
)
def test_unsupported_is_reported_with_its_reason(
    tmp_path: Path, detection: dict[str, Any], kw: dict[str, Any], expected: str | None
) -> None:
    if expected is None:
        assert load_one(tmp_path, detection, **kw).rules
        return
    reasons = _reasons(tmp_path, detection, **kw)
    assert any(expected in r for r in reasons), reasons


def test_every_problem_of_a_rule_is_listed(tmp_path: Path) -> None:
    reasons = _reasons(
        tmp_path,
        {
            "a": {"nosuch": "x", "displaymessage|base64": "y"},
            "b": {"other.field": "z"},
            "condition": "a or b",
        },
    )
    assert len(reasons) == 3, reasons
    assert "unsupported modifier |base64" in reasons[0]
    assert "unknown field 'nosuch'" in reasons[1] and "unknown field 'other.field'" in reasons[2]


def test_file_and_sigma_errors(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "yaml.yml").write_text("title: x\ndetection:\n  sel: {a: b\n  condition: sel\n")
    (folder / "nocondition.yml").write_text(
        "title: No condition\nid: 2c8a5b8e-0000-4000-8000-000000000001\n"
        "logsource: {product: okta}\ndetection:\n  sel: {eventtype: x}\n"
    )
    (folder / "badref.yml").write_text(
        "title: Bad reference\nid: 2c8a5b8e-0000-4000-8000-000000000002\n"
        "logsource: {product: okta}\ndetection:\n  sel: {eventtype: x}\n  condition: nope\n"
    )
    (folder / "dup1.yml").write_text(
        "title: First\nid: 2c8a5b8e-0000-4000-8000-000000000003\n"
        "logsource: {product: okta}\ndetection:\n  sel: {eventtype: x}\n  condition: sel\n"
    )
    (folder / "dup2.yml").write_text((folder / "dup1.yml").read_text().replace("First", "Again"))
    from opencasb.detect.sigma import load_rules

    loaded = load_rules(folder)
    assert [r.title for r in loaded.rules] == ["First"]
    by_file = {p.file: p for p in loaded.problems}
    assert set(by_file) == {"yaml.yml", "nocondition.yml", "badref.yml", "dup2.yml"}
    assert by_file["yaml.yml"].line == 4 and by_file["yaml.yml"].reason.startswith("YAML error")
    assert "condition" in by_file["nocondition.yml"].reason.lower()
    assert by_file["nocondition.yml"].title == "No condition"
    assert "nope" in by_file["badref.yml"].reason
    assert by_file["dup2.yml"].reason == "duplicate rule id, also in dup1.yml"
    assert str(by_file["yaml.yml"]).startswith("yaml.yml:4: YAML error")


CORRELATED = """\
title: Failed sign-in
id: 7d1f0000-0000-4000-8000-000000000001
name: okta_failed_sign_in
logsource: {product: okta}
detection:
  sel: {eventtype: user.session.start, outcome.result: FAILURE}
  condition: sel
---
title: Many failed sign-ins
id: 7d1f0000-0000-4000-8000-000000000002
level: high
tags: [attack.credential-access, attack.t1110]
correlation:
  type: event_count
  rules: [okta_failed_sign_in]
  group-by: [actor.alternateId]
  timespan: 10m
  condition: {gte: 5}
"""


def _corr(tmp_path: Path, text: str) -> Any:
    folder = tmp_path / "corr"
    folder.mkdir(exist_ok=True)
    (folder / "c.yml").write_text(text)
    from opencasb.detect.sigma import load_rules

    return load_rules(folder)


def test_event_count_correlation_is_a_repeated_activity_policy(tmp_path: Path) -> None:
    loaded = _corr(tmp_path, CORRELATED)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    (rule,) = loaded.rules  # the referenced rule alone raises nothing (generate: false)
    policy = rule.policy
    assert rule.correlation == "event_count" and policy.id.endswith("000000000002")
    assert policy.repeated is not None
    assert policy.repeated.threshold == 4 and policy.repeated.group_by is GroupBy.USER
    assert policy.repeated.timeframe.total_seconds() == 600
    assert policy.matches(event(outcome__result="FAILURE"))
    assert not policy.matches(event())


def test_value_count_and_source_address_grouping(tmp_path: Path) -> None:
    text = (
        CORRELATED.replace("type: event_count", "type: value_count")
        .replace("group-by: [actor.alternateId]", "group-by: [client.ipAddress]")
        .replace("condition: {gte: 5}", "condition: {gt: 10, field: actor.alternateId}")
    )
    (rule,) = _corr(tmp_path, text).rules
    rep = rule.policy.repeated
    assert rep is not None and rep.group_by is GroupBy.SOURCE_IP
    assert rep.threshold == 10 and rep.distinct == "raw.actor.alternateId"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("type: event_count", "type: temporal"), "unsupported correlation type temporal"),
        (("condition: {gte: 5}", "condition: {lt: 5}"), "condition lt 5"),
        (("[actor.alternateId]", "[client.geographicalContext.city]"), "group-by"),
        (("[okta_failed_sign_in]", "[nosuch]"), "it correlates rule 'nosuch', which is not"),
    ],
)
def test_unsupported_correlations_are_reported(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    loaded = _corr(tmp_path, CORRELATED.replace(*change))
    assert not [r for r in loaded.rules if r.correlation]
    assert any(reason in p.reason and p.title == "Many failed sign-ins" for p in loaded.problems), [
        str(p) for p in loaded.problems
    ]


def test_correlation_across_files_and_a_bad_one_spares_its_neighbours(tmp_path: Path) -> None:
    base, corr = CORRELATED.split("---\n")
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / "a_base.yml").write_text(base)
    extra = (
        "title: Lonely\nid: 7d1f0000-0000-4000-8000-000000000009\n"
        "logsource: {product: okta}\ndetection:\n  sel: {eventtype: user.session.end}\n"
        "  condition: sel\n---\n"
    )
    broken = corr.replace("[okta_failed_sign_in]", "[nosuch]").replace(
        "000000000002", "000000000003"
    )
    (folder / "b_corr.yml").write_text(extra + corr + "---\n" + broken)
    from opencasb.detect.sigma import load_rules

    loaded = load_rules(folder)
    assert sorted(r.title for r in loaded.rules) == ["Lonely", "Many failed sign-ins"]
    (problem,) = loaded.problems
    assert problem.file == "b_corr.yml" and problem.rule_id.endswith("000000000003")
    generated = corr.replace("correlation:\n", "correlation:\n  generate: true\n")
    (folder / "b_corr.yml").write_text(generated)
    titles = sorted(r.title for r in load_rules(folder).rules)
    assert titles == ["Failed sign-in", "Many failed sign-ins"]


def test_event_count_correlation_raises_through_the_engine(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from opencasb.clock import FakeClock
    from opencasb.detect.engine import Observed, PolicyEngine
    from opencasb.detect.state import EngineState

    (rule,) = _corr(tmp_path, CORRELATED).rules
    engine = PolicyEngine([rule.policy], clock=FakeClock(datetime(2026, 12, 5, 12, tzinfo=UTC)))
    observed = [
        Observed(
            i + 1,
            event(
                uuid=f"0f8e4d2a-0000-4000-8000-{i:012d}",
                published=f"2026-12-05T10:0{i}:00.000Z",
                outcome__result="FAILURE",
            ),
        )
        for i in range(5)
    ]
    found, state = engine.evaluate(observed[:4], EngineState())
    assert found == []  # four failures: not more than the threshold of 4
    found, _ = engine.evaluate(observed[4:], state)
    (finding,) = found
    assert finding.activity_ids == (1, 2, 3, 4, 5)
    assert "5 matching activities by ann.lee@example.com" in finding.explanation
    assert "Sigma rule 7d1f0000-0000-4000-8000-000000000002 (c.yml)" in finding.explanation
