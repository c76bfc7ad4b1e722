"""Reading filter documents: the format, round trips, and every problem with its place."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from opencasb.errors import ConfigError, DocumentError
from opencasb.filters import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    Op,
    check,
    load_filter,
    parse_filter,
    parse_filter_text,
    to_document,
)

FULL = """\
all:
  - field: app
    equals: okta
  - field: actor.email
    in: [ann@example.com, Bob@Example.com]
  - any:
      - field: src_ip
        cidr: [10.0.0.0/8, "2001:db8::/32"]
      - field: geo.city
        starts_with: zur
        ignore_case: true
  - not:
      field: raw.debugContext.debugData.behaviors
      contains: New Geo-Location=POSITIVE
  - field: time
    gte: 2026-11-01T08:00:00+01:00
  - field: asn
    lt: 65000
  - field: enrich.coarse
    equals: false
  - field: ip_tags
    is_set: true
  - field: outcome
    not_in: [success]
"""


def test_a_full_document_reads_into_the_tree() -> None:
    flt = parse_filter_text(FULL)
    assert isinstance(flt, AllOf)
    items = flt.items
    assert items[0] == Condition("app", Op.EQUALS, "okta")
    assert items[1] == Condition("actor.email", Op.IN, ("ann@example.com", "Bob@Example.com"))
    assert items[2] == AnyOf(
        (
            Condition("src_ip", Op.CIDR, ("10.0.0.0/8", "2001:db8::/32")),
            Condition("geo.city", Op.STARTS_WITH, "zur", ignore_case=True),
        )
    )
    assert items[3] == Not(
        Condition("raw.debugContext.debugData.behaviors", Op.CONTAINS, "New Geo-Location=POSITIVE")
    )
    # times are kept in UTC
    assert items[4] == Condition("time", Op.GTE, datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
    assert items[7] == Condition("ip_tags", Op.IS_SET, True)


def test_round_trip_through_json_and_yaml_text_gives_an_equal_tree() -> None:
    flt = parse_filter_text(FULL)
    doc = to_document(flt)
    assert parse_filter(doc) == flt
    text = json.dumps(doc)
    assert parse_filter_text(text) == flt  # JSON is read as YAML
    assert to_document(parse_filter_text(text)) == doc
    assert check(flt) == flt


def test_a_top_level_list_is_all() -> None:
    flt = parse_filter_text('[{"field": "app", "equals": "okta"}]')
    assert flt == AllOf((Condition("app", Op.EQUALS, "okta"),))


def test_every_problem_is_reported_with_path_line_and_column() -> None:
    text = """\
all:
  - field: apps
    equals: okta
  - field: geo.country_code
    equals: NO
  - field: time
    gt: 2026-11-01T08:00:00
  - field: app
    equalz: okta
  - any: 3
  - field: asn
    contains: "65"
  - field: src_ip
    cidr: 10.0.0.0/33
  - field: app
    equals: a
    in: [b]
"""
    with pytest.raises(DocumentError) as info:
        parse_filter_text(text, source="rules.yaml")
    got = [(p.path, p.line, p.column) for p in info.value.problems]
    assert got == [
        ("all[0].field", 2, 12),
        ("all[1].equals", 5, 13),
        ("all[2].gt", 7, 9),
        ("all[3].equalz", 9, 5),
        ("all[3]", 8, 5),
        ("all[4].any", 10, 10),
        ("all[5].contains", 12, 15),
        ("all[6].cidr", 14, 11),
        ("all[7].in", 17, 5),
    ]
    messages = [p.message for p in info.value.problems]
    assert "did you mean app" in messages[0]
    assert "quote it" in messages[1]  # YAML reads NO as false
    assert "zone" in messages[2]
    assert "did you mean 'equals'" in messages[3]
    assert "does not take contains" in messages[6]
    assert "10.0.0.0/33" in messages[7]
    text_of_error = str(info.value)
    assert "rules.yaml:2:12: all[0].field: unknown field 'apps'" in text_of_error
    assert info.value.code == "bad_filter"


def test_invalid_yaml_names_its_line() -> None:
    with pytest.raises(DocumentError) as info:
        parse_filter_text("all:\n  - field: app\n    equals: [okta\n", source="f.yaml")
    (problem,) = info.value.problems
    assert problem.line is not None and problem.line >= 3
    assert "not YAML" in problem.message


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"field": "category", "equals": "login"}, "not a category; use one of logon"),
        ({"field": "raw", "equals": "x"}, "is not a path"),
        ({"field": "app", "contains": ""}, "non-empty"),
        ({"field": "app", "in": []}, "non-empty list"),
        ({"field": "asn", "equals": 1.5}, "whole number"),
        ({"field": "asn", "equals": True}, "expected a number"),
        ({"field": "app", "is_set": "yes"}, "true or false"),
        ({"field": "asn", "gt": 1, "ignore_case": True}, "ignore_case applies"),
        ({"all": [], "any": []}, "stands alone"),
        ({"not": [{"field": "app", "equals": "x"}]}, None),  # a list under not is all
        ("app = okta", "expected a condition"),
    ],
)
def test_problems_of_single_conditions(doc: object, fragment: str | None) -> None:
    if fragment is None:
        assert parse_filter(doc) == Not(AllOf((Condition("app", Op.EQUALS, "x"),)))
        return
    with pytest.raises(DocumentError) as info:
        parse_filter(doc)
    assert fragment in str(info.value)


def test_load_filter_reads_a_file_or_inline_text(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "f.yaml"
    path.write_text("field: app\nequals: okta\n", encoding="utf-8")
    assert load_filter(str(path)) == Condition("app", Op.EQUALS, "okta")
    assert load_filter('{"field": "app", "equals": "okta"}') == Condition("app", Op.EQUALS, "okta")
    with pytest.raises(ConfigError, match=r"cannot read the filter file .*g\.yaml"):
        load_filter(str(path.with_name("g.yaml")))
