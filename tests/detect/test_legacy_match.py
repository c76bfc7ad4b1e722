"""``match:`` of earlier versions: read as the filter language with the same meaning (case,
text of booleans and numbers, empty text as unset, several values), every problem in place,
written back as ``filter:``, and policies stored with it by an earlier version still run."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from tests.detect.helpers import T0, act

from opencasb.detect.legacy_match import translate_match
from opencasb.detect.policy import Policy
from opencasb.detect.policy_file import dump_policies, read_policies
from opencasb.detect.shared import SharedFilter
from opencasb.detect.stage import stored_policies
from opencasb.errors import DocumentError
from opencasb.filters import parse_filter
from opencasb.model.activity import Outcome, Target
from opencasb.store.detection import PolicyRecord

HEAD = "id: p\nname: P\nseverity: high\ncategory: threat_detection\n"


def _f(data: Any) -> SharedFilter:
    doc, issues = translate_match(data)
    assert issues == [] and doc is not None
    return SharedFilter(parse_filter(doc))


def test_equals_and_in_ignore_case_and_enums() -> None:
    a = act("UserLoginFailed", app="office365", outcome=Outcome.FAILURE)
    assert _f({"activity_type": "userloginfailed", "outcome": "FAILURE"}).matches(a)
    assert _f({"activity_type": ["x", "UserLoginFailed"]}).matches(a)
    assert not _f({"activity_type": ["x", "y"]}).matches(a)
    assert not _f({"outcome": "success"}).matches(a)


def test_details_raw_targets_and_booleans() -> None:
    a = act(
        details={"security.is_proxy": True, "param.MoveToFolder": "RSS Feeds", "param.D": "True"},
        raw={"debugContext": {"debugData": {"behaviors": ["New Geo-Location=POSITIVE"]}}},
        targets=(Target(id="u1", type="User"), Target(id="SuperOrgAdmin", type="ROLE")),
    )
    assert _f({"details.security.is_proxy": True}).matches(a)
    assert _f({"details.security.is_proxy": "TRUE"}).matches(a)  # compared by text
    assert not _f({"details.security.is_proxy": False}).matches(a)
    assert _f({"details.param.D": True}).matches(a)
    assert not _f({"details.param.D": {"not_equals": True}}).matches(a)
    assert _f({"details.param.MoveToFolder": {"starts_with": "rss"}}).matches(a)
    assert _f({"raw.debugContext.debugData.behaviors": {"contains": "geo-location"}}).matches(a)
    assert _f({"targets.id": "superorgadmin"}).matches(a)
    # negative operators hold only when no value is excluded
    assert not _f({"targets.id": {"not_in": ["SuperOrgAdmin"]}}).matches(a)
    assert _f({"targets.id": {"not_equals": "nobody"}}).matches(a)
    assert _f({"details.absent": {"is_set": False}}).matches(a)
    assert not _f({"details.absent": {"is_set": True}}).matches(a)
    assert not _f({"geo.country": "Germany"}).matches(a)  # no geo at all: no match, no error


def test_numbers_and_empty_text_as_the_old_form_read_them() -> None:
    a = act(details={"n": 42, "s": "7", "e": ""})
    assert _f({"details.n": "42"}).matches(a) and _f({"details.n": 42}).matches(a)
    assert _f({"details.s": 7}).matches(a) and not _f({"details.s": 8}).matches(a)
    assert _f({"details.e": {"is_set": False}}).matches(a)  # empty text was "not set"
    assert not _f({"details.e": {"is_set": True}}).matches(a)
    assert _f({"details.n": {"is_set": True}}).matches(a)


@pytest.mark.parametrize(
    ("address", "external"),
    [
        ("smtp:ana@evil.example", True),
        ("ana.backup@gmail.com", True),
        ("smtp:boss@example.com", False),
        ("boss@EXAMPLE.com; x@other.example", True),
        ("not an address", False),
    ],
)
def test_external_address(address: str, external: bool) -> None:
    a = act("Set-Mailbox", details={"param.ForwardingSmtpAddress": address})
    flt = _f({"details.param.ForwardingSmtpAddress": {"external_address": True}})
    assert flt.matches(a) is external


def test_any_all_not() -> None:
    a = act(details={"x": "1"})
    assert _f({"any": [{"app": "office365"}, {"details.x": 1}]}).matches(a)
    assert not _f({"not": {"app": "okta"}}).matches(a)
    assert _f({"all": [{"app": "okta"}, {"details.x": "1"}]}).matches(a)


def test_every_problem_is_reported_with_its_path() -> None:
    doc, issues = translate_match(
        {
            "nope": 1,
            "actor.colour": "x",
            "app": {"like": "o"},
            "outcome": {"in": []},
            "any": [{"src_ip": {"is_set": "yes"}}, 5],
            "not": {},
            "details.k": {"equals": {"a": 1}},
        }
    )
    assert doc is None
    assert [i[0] for i in issues] == [
        ("nope",),
        ("actor.colour",),
        ("app", "like"),
        ("outcome", "in"),
        ("any", 0, "src_ip", "is_set"),
        ("any", 1),
        ("not",),
        ("details.k", "equals"),
    ]
    assert all(message for _, message, _ in issues)


def test_a_file_with_match_loads_warns_and_is_written_back_as_filter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = HEAD + "match:\n  activity_type: set-mailbox\n  details.param.X: {is_set: true}\n"
    with caplog.at_level(logging.WARNING, logger="opencasb.detect.policy_file"):
        (p,) = read_policies(text, "old.yaml")
    assert "Rewrite it as filter:" in caplog.text
    assert any("match: is no longer part of policies" in r.getMessage() for r in caplog.records)
    hit = act("Set-Mailbox", details={"param.X": "y"})
    assert p.matches(hit) and not p.matches(act("Set-Mailbox"))
    dumped = dump_policies([p])
    assert "match" not in dumped and "filter:" in dumped
    (again,) = read_policies(dumped)
    assert again == p


def test_a_match_the_filter_language_refuses_is_a_problem_at_its_place() -> None:
    text = HEAD + "match:\n  outcome: succeeded\n"
    with pytest.raises(DocumentError) as info:
        read_policies(text, "old.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.column, problem.path) == (6, 3, "match")
    assert "'succeeded' is not a outcome" in problem.message
    assert "rewrite it as filter:" in problem.message


def test_a_policy_stored_by_an_earlier_version_with_match_still_runs() -> None:
    definition = (
        "policies:\n- id: fwd\n  name: Forwarding\n  enabled: true\n  severity: high\n"
        "  category: dlp\n  template: external-mail-forwarding\n"
        "  match:\n    activity_type: [New-InboxRule, Set-InboxRule]\n"
        "    details.param.ForwardTo: {external_address: true}\n"
    )
    (p,) = stored_policies([PolicyRecord("fwd", "Forwarding", definition, True, None, T0, T0)])
    assert isinstance(p, Policy) and p.enabled
    assert p.matches(act("new-inboxrule", details={"param.ForwardTo": "smtp:x@evil.test"}))
    assert not p.matches(act("New-InboxRule", details={"param.ForwardTo": "bob@example.com"}))


def test_distinct_names_a_filter_language_field_but_not_the_enrichment() -> None:
    base = HEAD + "filter: {field: app, equals: okta}\nrepeated: {threshold: 2, timeframe: 5m, "
    (p,) = read_policies(base + "distinct: details.param.ForwardTo}\n")
    assert p.repeated is not None and p.repeated.distinct == "details.param.ForwardTo"
    with pytest.raises(DocumentError) as info:
        read_policies(base + "distinct: enrich.country}\n")
    (problem,) = info.value.problems
    assert problem.path == "repeated.distinct" and "enrichment" in problem.message
