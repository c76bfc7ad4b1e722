"""`opencasb activities`: filters, the table, JSON-lines and CSV export, keyset paging.

Expectations are computed in Python from the full JSON export (every stored activity),
so each filter is checked against an independent evaluation of the same predicate.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from opencasb.store.export import CSV_COLUMNS

from .conftest import Cli, assert_clean, flat, table_rows


@pytest.fixture(scope="module")
def everything(reader: Cli) -> list[dict[str, Any]]:
    rows = reader.jsonl()
    assert len(rows) > 100
    return rows


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["source_event_id"] for r in rows]


def _most_common(values: list[Any]) -> Any:
    return Counter(v for v in values if v).most_common(1)[0][0]


def test_json_lines_hold_every_activity_with_raw_newest_first(
    reader: Cli, everything: list[dict[str, Any]]
) -> None:
    truth = {e["uuid"] for e in reader.served.sandbox.state.events()}
    assert set(_ids(everything)) == truth
    assert len(everything) == len(truth)
    for row in everything:
        assert row["raw"]["uuid"] == row["source_event_id"]
        assert row["instance"] == "okta" and row["app"] == "okta"
    times = [datetime.fromisoformat(r["time"]) for r in everything]
    assert times == sorted(times, reverse=True)


def test_user_filter(reader: Cli, everything: list[dict[str, Any]]) -> None:
    email = _most_common([r["actor"]["email"] for r in everything])
    expected = [
        r
        for r in everything
        if email.lower() in {(r["actor"][k] or "").lower() for k in ("email", "id", "name")}
    ]
    got = reader.jsonl("--user", email.upper())
    assert _ids(got) == _ids(expected)
    assert 0 < len(got) < len(everything)


def test_outcome_failure(reader: Cli, everything: list[dict[str, Any]]) -> None:
    expected = [r for r in everything if r["outcome"] == "failure"]
    got = reader.jsonl("--outcome", "failure")
    assert expected and _ids(got) == _ids(expected)
    assert all(r["raw"]["outcome"]["result"] != "SUCCESS" for r in got)


def test_type_filter(reader: Cli, everything: list[dict[str, Any]]) -> None:
    kind = _most_common([r["activity_type"] for r in everything])
    got = reader.jsonl("--type", kind)
    assert _ids(got) == [r["source_event_id"] for r in everything if r["raw"]["eventType"] == kind]


def test_ip_filter_with_a_cidr(reader: Cli, everything: list[dict[str, Any]]) -> None:
    ip = _most_common([r["src_ip"] for r in everything])
    net = ipaddress.ip_network(f"{ip}/16", strict=False)
    expected = [r for r in everything if r["src_ip"] and ipaddress.ip_address(r["src_ip"]) in net]
    got = reader.jsonl("--ip", f"{ip}/16")  # host bits set: tolerated
    assert _ids(got) == _ids(expected)
    assert _ids(reader.jsonl("--ip", ip)) == [
        r["source_event_id"] for r in got if r["src_ip"] == ip
    ]


def test_country_by_name_and_by_code(reader: Cli, everything: list[dict[str, Any]]) -> None:
    with_geo = [r for r in everything if r.get("geo")]
    country = _most_common([r["geo"]["country"] for r in with_geo])
    expected = [r for r in with_geo if (r["geo"]["country"] or "").lower() == country.lower()]
    assert _ids(reader.jsonl("--country", country.upper())) == _ids(expected)
    code = _most_common([r["geo"]["country_code"] for r in with_geo])
    by_code = [r for r in with_geo if r["geo"]["country_code"] == code]
    assert _ids(reader.jsonl("--country", code.lower())) == _ids(by_code)


def test_since_inclusive_until_exclusive(reader: Cli, everything: list[dict[str, Any]]) -> None:
    times = [r["time"] for r in everything]
    since, until = times[len(times) * 3 // 4], times[len(times) // 4]
    lo, hi = datetime.fromisoformat(since), datetime.fromisoformat(until)
    expected = [r for r in everything if lo <= datetime.fromisoformat(r["time"]) < hi]
    got = reader.jsonl("--since", since, "--until", until)
    assert got and _ids(got) == _ids(expected)
    assert got[-1]["time"] == since
    # A trailing Z, and a naive time taken as UTC, mean the same instant.
    z = lo.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    naive = lo.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert _ids(reader.jsonl("--since", z, "--until", until)) == _ids(expected)
    assert _ids(reader.jsonl("--since", naive, "--until", until)) == _ids(expected)


def test_text_filter(reader: Cli, everything: list[dict[str, Any]]) -> None:
    got = reader.jsonl("--text", "SLACK")
    must = {r["source_event_id"] for r in everything if "slack" in r["description"].lower()}
    assert must and must <= set(_ids(got))
    for row in got:
        searchable = [row["description"], row["actor"]["name"], *map(str, row["targets"])]
        assert any("slack" in (s or "").lower() for s in searchable)


def test_filters_combine(reader: Cli, everything: list[dict[str, Any]]) -> None:
    kind = _most_common([r["activity_type"] for r in everything])
    got = reader.jsonl("--type", kind, "--outcome", "success", "--app", "okta")
    expected = [r for r in everything if r["activity_type"] == kind and r["outcome"] == "success"]
    assert _ids(got) == _ids(expected)


def test_csv_has_the_header_and_one_row_per_activity(
    reader: Cli, everything: list[dict[str, Any]]
) -> None:
    out = reader.ok("activities", "--format", "csv", "--limit", "0").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert [r["source_event_id"] for r in body] == _ids(everything)
    assert all(r["instance"] == "okta" for r in body)


def test_table_page_and_after_token_page_disjointly(
    reader: Cli, everything: list[dict[str, Any]]
) -> None:
    first = reader.ok("activities", "--limit", "40")
    rows = table_rows(first.stdout)
    assert rows[0] == ["time", "app", "type", "outcome", "actor", "ip", "country", "description"]
    assert len(rows) == 41
    assert [r[0] for r in rows[1:]] == [
        datetime.fromisoformat(r["time"]).strftime("%Y-%m-%d %H:%M:%S") for r in everything[:40]
    ]
    match = re.search(r"more: --after (\S+)", first.stderr)
    assert match, first.stderr
    token = match.group(1)
    rest = reader.jsonl("--after", token)
    assert _ids(rest) == _ids(everything[40:])

    second = reader.ok("activities", "--limit", "40", "--after", token)
    assert [r[0] for r in table_rows(second.stdout)[1:]] == [
        datetime.fromisoformat(r["time"]).strftime("%Y-%m-%d %H:%M:%S") for r in everything[40:80]
    ]
    match2 = re.search(r"more: --after (\S+)", second.stderr)
    assert match2 and match2.group(1) != token
    assert _ids(reader.jsonl("--after", match2.group(1))) == _ids(everything[80:])


def test_last_page_has_no_more_token(reader: Cli, everything: list[dict[str, Any]]) -> None:
    failures = [r for r in everything if r["outcome"] == "failure"]
    result = reader.ok("activities", "--outcome", "failure", "--limit", str(len(failures)))
    assert "more:" not in result.output
    assert len(table_rows(result.stdout)) == len(failures) + 1
    shorter = reader.ok("activities", "--outcome", "failure", "--limit", str(len(failures) - 1))
    assert "more: --after " in shorter.stderr


@pytest.mark.parametrize(
    ("args", "message", "fix"),
    [
        (
            ["--since", "yesterday"],
            "--since 'yesterday' is not a date or time",
            "use ISO 8601, e.g. 2026-11-01T08:00",
        ),
        (["--until", "2026-13-01"], "--until '2026-13-01' is not a date or time", "ISO 8601"),
        (["--format", "xml"], "unknown format 'xml'", "use table, json or csv"),
        (["--after", "not-a-token"], "invalid page token in 'after'", "Start again"),
        (["--after", "MTIz"], "invalid page token in 'after'", "omit 'after'"),
        (["--ip", "10.0.0.0/99"], "not an IP address or CIDR network", "such as 10.0.0.0/8"),
        (["--outcome", "maybe"], "unknown outcome 'maybe'", "success, failure or unknown"),
        (["--limit", "0"], "limit must be between 1 and 10000, got 0", "smaller pages"),
        (["--instance", "nope"], "no app instance named 'nope'", ""),
    ],
)
def test_bad_arguments_get_a_clear_message(
    reader: Cli, args: list[str], message: str, fix: str
) -> None:
    result = reader("activities", *args)
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith(f"error: {message}")
    assert fix in err
    assert result.stdout == ""


def test_limit_caps_a_json_export(reader: Cli) -> None:
    assert len(reader.jsonl("--limit", "5")) == 5


def test_filter_option_combines_with_the_other_options(
    reader: Cli, everything: list[dict[str, Any]], tmp_path: Any
) -> None:
    kind = _most_common([r["activity_type"] for r in everything])
    # A raw vendor field (left to the residual) OR'ed with a normalized one, inline JSON.
    flt = (
        '{"any": [{"field": "raw.outcome.result", "equals": "FAILURE"},'
        ' {"field": "actor.email", "starts_with": "A", "ignore_case": true}]}'
    )
    got = reader.jsonl("--filter", flt, "--type", kind)
    expected = [
        r
        for r in everything
        if r["activity_type"] == kind
        and (
            (r["raw"].get("outcome") or {}).get("result") == "FAILURE"
            or (r["actor"]["email"] or "").lower().startswith("a")
        )
    ]
    assert expected and len(expected) < len(everything)
    assert _ids(got) == _ids(expected)
    # the same filter from a YAML file, as CSV and as a table page
    path = tmp_path / "filter.yaml"
    path.write_text(
        "any:\n  - field: raw.outcome.result\n    equals: FAILURE\n"
        "  - field: actor.email\n    starts_with: A\n    ignore_case: true\n",
        encoding="utf-8",
    )
    out = reader.ok("activities", "--filter", str(path), "--type", kind, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [dict(zip(CSV_COLUMNS, r, strict=True))["source_event_id"] for r in rows[1:]] == _ids(
        expected
    )
    table = reader.ok("activities", "--filter", str(path), "--type", kind, "--limit", "2")
    assert len(table_rows(table.stdout)) == 3
    assert "more: --after " in table.stderr


def test_a_bad_filter_names_every_problem_with_its_line(reader: Cli, tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "all:\n  - field: actor.mail\n    equals: x\n  - field: asn\n    gt: high\n",
        encoding="utf-8",
    )
    result = reader("activities", "--filter", str(path))
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "has 2 problems" in err
    assert f"{path}:2:12: all[0].field: unknown field 'actor.mail'" in err
    assert f"{path}:5:9: all[1].gt: expected a number" in err
    # a filter on the IP tags runs with the stored ones (tests/cli/test_iptags.py)
    reader.ok("activities", "--filter", '{"field": "ip_tags", "equals": "tor"}')
