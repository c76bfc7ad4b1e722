"""``opencasb sigma``: the Sigma rules the detection stage evaluates, and the ones it cannot.

``list [DIR]`` shows the rules that evaluate (and how many do not); ``check [DIR]`` lists
every problem (file, rule, reason) and exits 1 when there is one, so that it can gate a
rules repository in CI. ``DIR`` defaults to the ``sigma_rules_dir`` setting
(``OPENCASB_SIGMA_RULES_DIR``). Neither opens the store.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.formats import LinesFormat, check_format
from opencasb.cli.terminal import clip, markup
from opencasb.errors import ConfigError

if TYPE_CHECKING:
    from opencasb.detect.sigma import SigmaLoad

__all__ = ["register"]

sigma = typer.Typer(help="Sigma rules: list the loaded ones, check a folder for problems.")

_DIR_HELP = "Folder of Sigma rules (default: the sigma_rules_dir setting)."


def _load(ctx: typer.Context, folder: Path | None, fmt: str) -> SigmaLoad:
    from opencasb.detect.sigma import load_rules

    check_format(fmt)
    state: Ctx = ctx.obj
    folder = folder if folder is not None else state.settings.sigma_rules_dir
    if folder is None:
        raise ConfigError(
            "no Sigma rules folder",
            fix="pass DIR, or set OPENCASB_SIGMA_RULES_DIR (sigma_rules_dir in the config file)",
        )
    return load_rules(folder.expanduser())


@sigma.command("list")
def list_rules(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(metavar="[DIR]", help=_DIR_HELP)] = None,
    fmt: LinesFormat = "table",
) -> None:
    """The rules that evaluate: policy id, level, logsource, file and title."""
    with handle_errors():
        loaded = _load(ctx, folder, fmt)
        if fmt == "json":
            for r in loaded.rules:
                row: dict[str, Any] = {
                    "policy_id": r.policy.id,
                    "title": r.title,
                    "file": r.file,
                    "severity": str(r.policy.severity),
                    "tactic": str(r.policy.tactic) if r.policy.tactic else None,
                    "logsource": r.logsource,
                    "correlation": r.correlation or None,
                    "filter": r.policy.filter.to_data() if r.policy.filter else None,
                }
                sys.stdout.write(orjson.dumps(row).decode() + "\n")
        elif loaded.rules:
            table = Table()
            for col in ("policy", "severity", "logsource", "file", "title"):
                table.add_column(col, overflow="fold")
            for r in loaded.rules:
                cells = (
                    r.policy.id,
                    str(r.policy.severity),
                    r.correlation or r.logsource,
                    r.file,
                    clip(r.title),
                )
                table.add_row(*(Text(c) for c in cells))
            console.print(table)
        else:
            console.print("no rules evaluate")
        if loaded.problems:
            err_console.print(
                f"{len(loaded.problems)} rule(s) or file(s) cannot be evaluated: "
                "opencasb sigma check lists them with their reasons"
            )


@sigma.command("check")
def check_rules(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(metavar="[DIR]", help=_DIR_HELP)] = None,
    fmt: LinesFormat = "table",
) -> None:
    """Every rule that cannot be evaluated, with its reason; exit status 1 if there is one."""
    with handle_errors():
        loaded = _load(ctx, folder, fmt)
        for p in loaded.problems:
            if fmt == "json":
                row = {
                    "file": p.file,
                    "line": p.line,
                    "title": p.title or None,
                    "rule_id": p.rule_id or None,
                    "reason": p.reason,
                }
                sys.stdout.write(orjson.dumps(row).decode() + "\n")
            else:
                console.print(markup(str(p)), soft_wrap=True)
        summary = (
            f"{loaded.files} file(s): {len(loaded.rules)} rule(s) evaluate, "
            f"{len(loaded.problems)} problem(s)"
        )
        err_console.print(summary)
        if loaded.problems:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(sigma, name="sigma")
