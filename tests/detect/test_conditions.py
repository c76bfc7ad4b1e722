"""The small filter form: fields, operators, combinators, every problem reported."""

from __future__ import annotations

from typing import Any

import pytest
from tests.detect.helpers import act

from opencasb.detect.conditions import Issue, parse_filter
from opencasb.model.activity import Outcome, Target


def _f(data: Any) -> Any:
    flt, issues = parse_filter(data)
    assert issues == [] and flt is not None
    return flt


def test_equals_and_in_ignore_case_and_enums() -> None:
    a = act("UserLoginFailed", app="office365", outcome=Outcome.FAILURE)
    assert _f({"activity_type": "userloginfailed", "outcome": "FAILURE"}).matches(a)
    assert _f({"activity_type": ["x", "UserLoginFailed"]}).matches(a)
    assert not _f({"activity_type": ["x", "y"]}).matches(a)
    assert not _f({"outcome": "success"}).matches(a)


def test_details_raw_targets_and_booleans() -> None:
    a = act(
        details={"security.is_proxy": True, "param.MoveToFolder": "RSS Feeds"},
        raw={"debugContext": {"debugData": {"behaviors": ["New Geo-Location=POSITIVE"]}}},
        targets=(Target(id="u1", type="User"), Target(id="SuperOrgAdmin", type="ROLE")),
    )
    assert _f({"details.security.is_proxy": True}).matches(a)
    assert not _f({"details.security.is_proxy": False}).matches(a)
    assert _f({"details.param.MoveToFolder": {"starts_with": "rss"}}).matches(a)
    assert _f({"raw.debugContext.debugData.behaviors": {"contains": "geo-location"}}).matches(a)
    assert _f({"targets.id": "superorgadmin"}).matches(a)
    # negative operators hold only when no value is excluded
    assert not _f({"targets.id": {"not_in": ["SuperOrgAdmin"]}}).matches(a)
    assert _f({"targets.id": {"not_equals": "nobody"}}).matches(a)
    assert _f({"details.absent": {"is_set": False}}).matches(a)
    assert not _f({"details.absent": {"is_set": True}}).matches(a)
    assert not _f({"geo.country": "Germany"}).matches(a)  # no geo at all: no match, no error


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
    flt, issues = parse_filter(
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
    assert flt is None
    assert [i.path for i in issues] == [
        ("nope",),
        ("actor.colour",),
        ("app", "like"),
        ("outcome", "in"),
        ("any", 0, "src_ip", "is_set"),
        ("any", 1),
        ("not",),
        ("details.k", "equals"),
    ]
    assert all(isinstance(i, Issue) and i.message for i in issues)


def test_to_data_reads_back_to_an_equal_filter() -> None:
    data = {
        "activity_type": ["a", "b"],
        "outcome": "failure",
        "details.p": {"external_address": True},
        "any": [{"targets.id": {"contains": "#ext#"}}, {"not": {"app": "okta"}}],
    }
    flt = _f(data)
    again = _f(flt.to_data())
    assert again == flt
    assert again.to_data() == flt.to_data()
