"""Terminal safety and fit: control sequences from audit data and API error text are shown as
visible escapes, huge cells are cut (in tables only), and the views fit 80 columns."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console

from opencasb.cli import context
from opencasb.cli.tables import AppRow, activities_view, apps_view
from opencasb.cli.terminal import clip, visible
from opencasb.errors import AuthFailed, ErrorInfo
from opencasb.model import Health, HealthState
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome

from .conftest import Cli, flat

# What a hostile record can carry: a screen clear (CSI), a window title (OSC 0), a clipboard
# write (OSC 52), an 8-bit CSI (C1), a bell, a backspace and a right-to-left override.
HOSTILE = "a\x1b[2Jb\x1b]0;pwned\x07c\x1b]52;c;ZXZpbA==\x07d\x9b31me\x08f\u202egnp.exe\r\n"
_ANY_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_visible_escapes_every_control() -> None:
    shown = visible(HOSTILE)
    assert not _ANY_CONTROL.search(shown) and "\n" not in shown
    assert shown == (
        "a\\x1b[2Jb\\x1b]0;pwned\\x07c\\x1b]52;c;ZXZpbA==\\x07d\\x9b31me\\x08f\\u202egnp.exe\\x0d\\x0a"
    )
    assert visible("line 1\nline\t2", multiline=True) == "line 1\nline\t2"
    assert visible("ünïcödé [b] ok") == "ünïcödé [b] ok"


def test_clip_cuts_long_text_and_says_how_long_it_was() -> None:
    assert clip("x" * 200) == "x" * 200
    assert clip("x" * 50_000_000) == "x" * 200 + "… (50,000,000 chars)"
    assert clip("\x1b" * 300).startswith("\\x1b" * 200 + "…")


def _activity(description: str, *, email: str = "mallory@example.com", i: int = 0) -> Activity:
    return Activity(
        time=datetime(2026, 11, 1, 12, 0, i, tzinfo=UTC),
        app="okta",
        instance="okta",
        source_event_id=f"e{i}",
        activity_type="user.authentication.auth_via_mfa",
        category=Category.MFA,
        action="login",
        outcome=Outcome.SUCCESS,
        actor=Actor(id="00u1", name="Mallory", email=email),
        raw={},
        src_ip="203.0.113.77",
        geo=Geo(country="United States", country_code="US"),
        description=description,
    )


def _render(view: object, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, legacy_windows=False).print(view)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 200])
def test_activities_view_shows_escapes_not_controls(width: int) -> None:
    text = _render(activities_view([_activity(HOSTILE, email="m\x1b[8m@x.io")], width), width)
    assert not _ANY_CONTROL.search(text)
    assert "\\x1b]52;c;" in flat(text).replace(" ", "") and "m\\x1b[8m@x.io" in text


@pytest.mark.parametrize("width", [80, 200])
def test_a_50_mb_field_is_cut_in_the_table(width: int) -> None:
    text = _render(activities_view([_activity("A" * 50_000_000)], width), width)
    assert len(text) < 10_000
    assert "(50,000,000 chars)" in flat(text)


def test_activities_fit_80_columns_without_slivers() -> None:
    items = [
        _activity("User login to Okta with a second factor " * 3, i=i, email=f"user{i}@example.com")
        for i in range(5)
    ]
    lines = _render(activities_view(items, 80), 80).splitlines()
    assert all(len(line) <= 80 for line in lines)
    heads = [line for line in lines if line.startswith("2026-")]
    assert len(heads) == len(items)
    for i, head in enumerate(heads):
        # Who, when and where whole on one line, never broken.
        assert head.startswith(f"2026-11-01 12:00:0{i}  okta  success  user{i}@example.com")
        assert head.endswith("203.0.113.77 (US)")
    body = "\n".join(lines)
    assert body.count("  user.authentication.auth_via_mfa  User login") == 5
    # The description wraps between words only: every word is whole on some line.
    assert set(" ".join(lines).split()) >= set(items[0].description.split())


_SERVICES = ["AzureActiveDirectory", "Exchange", "MicrosoftTeams", "OneDrive", "SharePoint"]


def _apps_rows() -> list[AppRow]:
    broken = Health(
        state=HealthState.ERROR,
        events_stored=12_345,
        last_success=datetime(2026, 11, 1, 12, tzinfo=UTC),
        last_error=ErrorInfo(
            "AADSTS7000215",
            "the client secret is wrong or expired \x1b]0;owned\x07 (from Entra ID)",
            "create a new client secret and run `opencasb apps edit office365`",
        ),
    )
    return [
        AppRow("okta", "okta", Health(state=HealthState.CONNECTED, events_stored=97_500), []),
        AppRow("office365", "office365", broken, _SERVICES),
    ]


def test_apps_fit_80_columns_with_services_on_their_own_line() -> None:
    text = _render(apps_view(_apps_rows(), 80), 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), text
    assert not _ANY_CONTROL.search(text)
    (services,) = [line for line in lines if "services:" in line]
    assert services.split("services:")[1].split(", ") == [" " + _SERVICES[0], *_SERVICES[1:]]
    assert any("AADSTS7000215" in line for line in lines)
    assert "\\x1b]0;owned\\x07" in flat(text).replace(" ", "")
    # Every word of the fix appears whole on some line (wrapped at spaces only).
    words = set(" ".join(lines).split())
    assert words >= set(_apps_rows()[1].health.last_error.fix.split())  # type: ignore[union-attr]


def test_apps_wide_table_escapes_the_problem_text() -> None:
    text = _render(apps_view(_apps_rows(), 200), 200)
    assert not _ANY_CONTROL.search(text)
    assert "\\x1b]0;owned\\x07" in text


def test_problems_and_errors_show_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(context, "err_console", Console(file=out, width=200, color_system=None))
    context.show_problem(
        "okta: \x1b[2Jfailed", code="E1", detail="\x9b31m", meaning="m\x07", fix="f\x1b]52;c;x\x07"
    )
    with pytest.raises(typer.Exit):
        context.fail(AuthFailed("token \x1b]0;t\x07 refused", meaning="\x1b[5m", fix="\x08"))
    text = out.getvalue()
    assert not _ANY_CONTROL.search(text)
    for shown in ("\\x1b[2J", "\\x9b31m", "m\\x07", "\\x1b]52;c;x\\x07", "\\x1b]0;t\\x07"):
        assert shown in text


def _import_event(cli: Cli, tmp_path: Path, message: str) -> None:
    event = dict(next(iter(cli.served.sandbox.state.events())))
    event["uuid"] = "hostile-0001"
    event["displayMessage"] = message
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(event) + "\n")
    cli.ok("import", "okta", str(path), "--instance", "hostile")


@pytest.mark.parametrize("columns", ["80", "400"])
def test_activities_command_never_prints_a_control(cli: Cli, tmp_path: Path, columns: str) -> None:
    _import_event(cli, tmp_path, HOSTILE)
    result = cli.ok("activities", "--instance", "hostile", env={"COLUMNS": columns})
    assert not _ANY_CONTROL.search(result.stdout)
    assert "\\x1b]52;c;ZXZpbA==\\x07" in result.stdout.replace("\n", "").replace("│", "")
    # Exports keep the exact data.
    (row,) = cli.jsonl("--instance", "hostile")
    assert row["description"].startswith(HOSTILE) and row["raw"]["displayMessage"] == HOSTILE
    csv_out = cli.ok("activities", "--instance", "hostile", "--format", "csv").stdout
    assert "\x1b]52;c;ZXZpbA==\x07" in csv_out


def test_a_50_mb_field_is_cut_in_the_table_but_not_in_exports(cli: Cli, tmp_path: Path) -> None:
    big = "B" * 50_000_000
    _import_event(cli, tmp_path, big)
    result = cli.ok("activities", "--instance", "hostile", env={"COLUMNS": "80"})
    assert len(result.stdout) < 5_000
    assert re.search(r"B… \(50,000,\d{3} chars\)", result.stdout)
    (row,) = cli.jsonl("--instance", "hostile")
    assert row["description"].startswith(big) and row["raw"]["displayMessage"] == big
