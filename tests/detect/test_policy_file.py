"""Policy files: every problem with its file, line and column; export reads back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from opencasb.detect.policy import SINGLE_EPISODE_GAP, GroupBy, Severity
from opencasb.detect.policy_file import dump_policies, load_policies, parse_duration, read_policies
from opencasb.detect.templates import load_templates
from opencasb.errors import ConfigError, DocumentError

GOOD = """\
policies:
  - id: failed-sign-ins
    name: Multiple failed sign-ins
    severity: medium
    category: threat_detection
    tactic: credential_access
    technique: T1110
    filter: {field: activity_type, in: [user.session.start, UserLoginFailed]}
    match: {outcome: failure}
    repeated: {threshold: 10, timeframe: 5m, label: failed sign-ins}
    scope: {exclude_ip_tags: [corp], include_users: [Ana@Example.com]}
"""

BAD = """\
policies:
  - id: Bad Id
    name: ""
    severity: extreme
    category: threat_detection
    technique: T11
    colour: red
    match:
      activity_typo: x
      outcome: {like: y}
    repeated: {threshold: 0, timeframe: 5 parsecs, group_by: planet}
    scope: {include_ip_tags: ["bad tag!"]}
  - id: ok
    id: again
    name: Missing severity
    category: dlp
    filter: {field: app, equalz: okta}
  - id: glass
    name: Break glass
    severity: high
    category: dlp
    filter: {field: app, equals: okta}
    scope: {include_users: ["<break-glass e-mail>"]}
  - id: glass
    name: Same id
    severity: high
    category: dlp
    repeated: {threshold: 2, timeframe: 1m, distinct: actor.shoe}
"""


def test_a_good_file_loads() -> None:
    (p,) = read_policies(GOOD, "good.yaml")
    assert p.id == "failed-sign-ins" and p.severity is Severity.MEDIUM
    assert p.repeated is not None and p.repeated.group_by is GroupBy.USER
    assert p.repeated.timeframe.total_seconds() == 300
    assert p.scope.exclude_ip_tags == {"corporate"}  # alias normalized
    assert p.scope.include_users == {"ana@example.com"}


def test_every_problem_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(DocumentError) as info:
        load_policies(path)
    got = [(p.line, p.column, p.path) for p in info.value.problems]
    assert got == [
        (2, 9, "policies[0].id"),
        (3, 11, "policies[0].name"),
        (4, 15, "policies[0].severity"),
        (6, 16, "policies[0].technique"),
        (7, 5, "policies[0].colour"),
        (9, 7, "policies[0].match.activity_typo"),
        (10, 23, "policies[0].match.outcome.like"),
        (11, 27, "policies[0].repeated.threshold"),
        (11, 41, "policies[0].repeated.timeframe"),
        (11, 62, "policies[0].repeated.group_by"),
        (12, 30, "policies[0].scope.include_ip_tags"),
        (13, 5, "policies[1]"),  # severity missing: where the policy's mapping starts
        (14, 5, "policies[1].id"),  # the same key twice
        (17, 13, "policies[1].filter"),  # the filter language's own problems, in place
        (17, 26, "policies[1].filter.equalz"),
        (23, 29, "policies[2].scope.include_users[0]"),  # a placeholder left in
        (24, 5, "policies[3]"),  # neither filter nor match
        (24, 9, "policies[3].id"),  # glass again: reported though both policies have problems
        (28, 55, "policies[3].repeated.distinct"),
    ]
    messages = [p.message for p in info.value.problems]
    assert messages[4] == "unknown key 'colour'"
    assert messages[5].startswith("unknown field 'activity_typo'")
    assert messages[11] == "severity is missing"
    assert messages[12] == "'id' appears twice; the last one counts"
    assert messages[14] == "unknown key 'equalz'; did you mean 'equals'?"
    assert "replace the placeholder <break-glass e-mail>" in messages[15]
    assert messages[16].startswith("a policy needs filter:")
    assert messages[17] == "policy id 'glass' is used twice in this file"
    assert messages[18].startswith("unknown field 'actor.shoe'")
    assert all(p.source == str(path) for p in info.value.problems)
    assert info.value.problems[10].path == "policies[0].scope.include_ip_tags"
    text = str(info.value)
    assert text.startswith(f"policy file {path} has 19 problems")
    assert f"{path}:12:30: policies[0].scope.include_ip_tags: 'bad tag!' is not a tag" in text
    assert isinstance(info.value, ConfigError)


def test_the_same_id_twice_is_a_problem() -> None:
    text = GOOD + GOOD.split("policies:\n")[1]
    with pytest.raises(DocumentError) as info:
        read_policies(text, "twice.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.column, problem.path) == (12, 9, "policies[1].id")
    assert "used twice" in problem.message


def test_the_same_id_twice_is_a_problem_beside_other_problems() -> None:
    # The first policy has a problem of its own (bad severity) and the second one too: the
    # reused id is still reported, at the second id's place.
    text = (
        "policies:\n"
        "  - id: same\n"
        "    name: First\n"
        "    severity: urgent\n"
        "    filter: {type: user.session.start}\n"
        "  - id: same\n"
        "    name: Second\n"
        "    severity: high\n"
        "    filtre: {type: user.session.start}\n"
    )
    with pytest.raises(DocumentError) as info:
        read_policies(text, "twice.yaml")
    twice = [p for p in info.value.problems if "used twice" in p.message]
    assert [(p.line, p.column, p.path) for p in twice] == [(6, 9, "policies[1].id")]
    assert len(info.value.problems) >= 3, info.value.problems


def test_yaml_syntax_error_has_its_position() -> None:
    with pytest.raises(DocumentError) as info:
        read_policies("policies:\n  - id: [unclosed\n", "s.yaml")
    (problem,) = info.value.problems
    assert problem.line == 3 and "not valid YAML" in problem.message


def test_shapes_single_list_and_empty() -> None:
    single = GOOD.replace("policies:\n  - ", "").replace("\n    ", "\n")
    assert [p.id for p in read_policies(single)] == ["failed-sign-ins"]
    listed = GOOD.replace("policies:\n", "")
    assert [p.id for p in read_policies(listed)] == ["failed-sign-ins"]
    assert read_policies("") == []
    with pytest.raises(DocumentError):
        read_policies("42")


def test_export_reads_back_for_every_template() -> None:
    templates = load_templates()
    text = dump_policies(templates)
    again = read_policies(text, "export.yaml")
    assert again == templates
    assert dump_policies(again) == text


@pytest.mark.parametrize(
    ("text", "seconds"), [(90, 90), ("30s", 30), ("5m", 300), ("2 hours", 7200), ("1d", 86400)]
)
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", [0, -5, True, "5 parsecs", "m5"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


SINGLE = """\
policies:
  - id: mfa-resets
    name: MFA factors reset
    severity: medium
    category: threat_detection
    filter: {field: activity_type, equals: user.mfa.factor.reset_all}
"""


@pytest.mark.parametrize(
    ("line", "gap", "exported"),
    [
        ("    episode_gap: 0\n", timedelta(0), "episode_gap: 0s"),  # an alert per activity
        ("    episode_gap: 30m\n", timedelta(minutes=30), "episode_gap: 30m"),
        ("", SINGLE_EPISODE_GAP, None),  # the default
        ("    episode_gap: 1h\n", SINGLE_EPISODE_GAP, None),  # the default, written out
    ],
    ids=["0", "30m", "default", "1h"],
)
def test_episode_gap_reads_back_from_an_export(
    line: str, gap: timedelta, exported: str | None
) -> None:
    (policy,) = read_policies(SINGLE + line, "gap.yaml")
    assert policy.episode_gap == gap
    text = dump_policies([policy])
    written = [s.strip() for s in text.splitlines() if "episode_gap" in s]
    assert written == ([exported] if exported else [])
    assert read_policies(text, "export.yaml") == [policy]
    assert dump_policies(read_policies(text, "export.yaml")) == text


@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ("    episode_gap: -5m\n", "7:18", "a duration is a number of seconds or text such as 5m"),
        ("    episode_gap: -300\n", "7:18", "a duration must be positive"),
        ("    episode_gap: soon\n", "7:18", "a duration is a number of seconds or text such as 5m"),
        (
            "    repeated: {threshold: 3, timeframe: 10m}\n    episode_gap: 30m\n",
            "8:5",  # the key: it is there at all that is wrong
            "episode_gap is for single-activity policies",
        ),
    ],
    ids=["-5m", "-300", "soon", "repeated"],
)
def test_a_bad_episode_gap_is_refused_with_its_place(
    tmp_path: Path, line: str, where: str, message: str
) -> None:
    path = tmp_path / "gap.yaml"
    path.write_text(SINGLE + line, encoding="utf-8")
    with pytest.raises(DocumentError) as info:
        load_policies(path)
    (problem,) = info.value.problems
    assert (f"{problem.line}:{problem.column}", problem.path) == (where, "policies[0].episode_gap")
    assert problem.message.startswith(message)
    assert f"{path}:{where}: policies[0].episode_gap: {message}" in str(info.value)
