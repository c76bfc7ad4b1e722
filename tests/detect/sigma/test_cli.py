"""`opencasb sigma list` and `opencasb sigma check`: what loads, every problem, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.detect.sigma.helpers import rule_text
from typer.testing import CliRunner

from opencasb.cli.demo import DEMO_SIGMA_DIR
from opencasb.cli.main import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("OPENCASB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENCASB_SIGMA_RULES_DIR", raising=False)
    monkeypatch.delenv("OPENCASB_CONFIG", raising=False)
    return CliRunner()


def test_check_of_the_demo_rules_passes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["sigma", "check", str(DEMO_SIGMA_DIR)])
    assert result.exit_code == 0, result.output
    assert "5 rule(s) evaluate, 0 problem(s)" in result.output


def test_check_lists_every_problem_and_fails(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.yml").write_text(
        rule_text({"sel": {"eventtype": "user.session.start"}, "condition": "sel"}, title="Good")
    )
    (folder / "nested" / "bad.yaml").write_text(
        rule_text(
            {"sel": {"eventtype": "x", "actor.email": "a@b.c"}, "condition": "sel"}, title="Bad"
        )
    )
    (folder / "windows.yml").write_text(
        rule_text({"sel": {"Image": "x"}, "condition": "sel"}, product="windows", title="Win")
    )
    (folder / "ignored.txt").write_text("not a rule")
    result = runner.invoke(app, ["sigma", "check", str(folder)])
    assert result.exit_code == 1
    out = result.output
    assert "nested/bad.yaml: rule 'Bad'" in out
    assert "unknown field 'actor.email' for logsource product: okta" in out
    assert "windows.yml: rule 'Win'" in out and "unsupported logsource (product: windows)" in out
    assert "3 file(s): 1 rule(s) evaluate, 2 problem(s)" in out
    lines = runner.invoke(app, ["sigma", "check", str(folder), "--format", "json"]).stdout
    rows = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    assert {r["file"] for r in rows} == {"nested/bad.yaml", "windows.yml"}
    assert all(r["reason"] and r["rule_id"] for r in rows)


def test_list_shows_loaded_rules_and_counts_problems(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sigma", "list", str(DEMO_SIGMA_DIR), "--format", "json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5
    grant = next(r for r in rows if r["file"] == "okta/okta_admin_role_assigned.yml")
    assert grant["policy_id"] == "sigma.9c14d59b-46d6-4971-9ee2-4a4bb49ce5d9"
    assert grant["severity"] == "high" and grant["tactic"] == "privilege_escalation"
    assert grant["filter"]["all"][0] == {"field": "app", "equals": "okta"}
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "x.yml").write_text("title: [unclosed\n")
    result = runner.invoke(app, ["sigma", "list", str(folder)])
    assert result.exit_code == 0
    assert "no rules evaluate" in result.output
    assert "1 rule(s) or file(s) cannot be evaluated" in result.output


def test_folder_from_the_setting_or_a_clear_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["sigma", "list"])
    assert result.exit_code == 1 and "no Sigma rules folder" in result.output
    monkeypatch.setenv("OPENCASB_SIGMA_RULES_DIR", str(DEMO_SIGMA_DIR))
    result = runner.invoke(app, ["sigma", "check"])
    assert result.exit_code == 0 and "5 rule(s) evaluate" in result.output
