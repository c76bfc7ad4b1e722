"""The ``ends_with`` and ``matches`` operators and ``details`` keys that hold dots, in memory
and through documents (on the store the residual predicate decides them: the agreement
property test runs ``ends_with`` on both engines)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencasb.errors import DocumentError
from opencasb.filters import Condition, Op, compile_predicate, parse_filter
from opencasb.model.activity import Activity, Actor, Category, Outcome


def _activity(**details: object) -> Activity:
    return Activity(
        time=datetime(2026, 12, 5, tzinfo=UTC),
        app="office365",
        source_event_id="e1",
        activity_type="New-InboxRule",
        category=Category.MAIL,
        action="new-inbox-rule",
        outcome=Outcome.SUCCESS,
        actor=Actor(id="ann", email="Ann@Example.com"),
        raw={"Parameters": [{"Name": "ForwardTo", "Value": "x@evil.example"}], "n": 5},
        details={"param.ForwardTo": "x@evil.example", "ext.Nested": {"a": "b"}, **details},
    )


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (Condition("actor.email", Op.ENDS_WITH, "@EXAMPLE.COM"), True),  # e-mail: lower case
        (Condition("activity_type", Op.ENDS_WITH, "inboxrule"), False),
        (Condition("activity_type", Op.ENDS_WITH, "inboxrule", True), True),
        (Condition("raw.Parameters.Value", Op.ENDS_WITH, ".example"), True),
        (Condition("raw.n", Op.ENDS_WITH, "5"), False),  # a number is not text
        (Condition("activity_type", Op.MATCHES, r"^New-\w+Rule$"), True),
        (Condition("activity_type", Op.MATCHES, r"(?i)^new-inbox"), True),
        (Condition("activity_type", Op.MATCHES, r"^new-inbox"), False),
        (Condition("details.param.ForwardTo", Op.MATCHES, r"@evil\."), True),
        (Condition("details.param.ForwardTo", Op.EQUALS, "x@evil.example"), True),
        (Condition("details.ext.Nested.a", Op.EQUALS, "b"), True),  # key with a dot, then a path
        (Condition("details.param.RedirectTo", Op.IS_SET, True), False),
        (Condition("details.param", Op.IS_SET, True), False),
    ],
)
def test_predicate(cond: Condition, expected: bool) -> None:
    assert compile_predicate(cond)(_activity(), None) is expected


def test_documents_validate_and_round_trip() -> None:
    flt = parse_filter({"field": "activity_type", "matches": "^New-"})
    assert flt == Condition("activity_type", Op.MATCHES, "^New-")
    parse_filter({"field": "src_ip", "ends_with": ".9", "ignore_case": True})
    with pytest.raises(DocumentError, match="not a regular expression"):
        parse_filter({"field": "activity_type", "matches": "(unclosed"})
    with pytest.raises(DocumentError, match="ignore_case"):
        parse_filter({"field": "activity_type", "matches": "x", "ignore_case": True})
    with pytest.raises(DocumentError, match="non-empty"):
        parse_filter({"field": "activity_type", "ends_with": ""})
    with pytest.raises(DocumentError, match="does not take"):
        parse_filter({"field": "asn", "ends_with": "5"})
