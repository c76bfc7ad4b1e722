"""``opencasb prune``: delete activities older than the retention period now."""

from __future__ import annotations

from typing import Annotated

import typer

from opencasb.cli.context import Ctx, console, handle_errors


def prune(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=0,
            help="Keep this many days (default: the retention_days setting, 180; 0 keeps all).",
        ),
    ] = None,
) -> None:
    """Delete activities older than the retention period (``opencasb sync`` does it hourly).

    Rows go in batches of 5,000, each its own transaction, so a running sync is not held up.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        keep = state.settings.retention_days if days is None else days
        if keep == 0:
            console.print("retention is 0 days: every activity is kept; nothing to prune")
            return
        deleted = state.store.prune_activities(keep)
        console.print(f"deleted {deleted:,} activities older than {keep} days")


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
