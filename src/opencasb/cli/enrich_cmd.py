"""``opencasb enrich --all``: enrich the stored activities again (or for the first time)."""

from __future__ import annotations

from typing import Annotated

import typer

from opencasb.cli.context import Ctx, console, fail, handle_errors
from opencasb.errors import ConfigError


def enrich(
    ctx: typer.Context,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Every stored activity (the only mode there is)."),
    ] = False,
    batch: Annotated[
        int,
        typer.Option("--batch", min=1, max=100_000, help="Activities per transaction."),
    ] = 5000,
) -> None:
    """Enrich stored activities with the current databases and IP ranges.

    Run it after upgrading (activities stored before enrichment was kept), after editing the
    IP ranges (their stored tags are stale) or replacing a MaxMind file. Each batch is one
    transaction with the command's cursor: interrupted (even killed), the next run resumes
    where it stopped; run again when nothing changed, it has nothing to do. Only the
    enrichment columns are written, never the activities. Detection does not wait for it:
    it enriches an activity stored without enrichment as it reads it, and always takes the
    IP tags from the current ranges; so do searches by ``ip_tags`` and the activity record.
    """
    state: Ctx = ctx.obj
    with handle_errors():
        if not all_:
            fail(
                ConfigError(
                    "say which activities to enrich",
                    fix="Run `opencasb enrich --all` (every stored activity).",
                    code="enrich_needs_all",
                )
            )
        store = state.store
        enricher = store.enricher
        start = store.enrich_progress(enricher)
        if start.left == 0:
            console.print("every stored activity is enriched with the current data; nothing to do")
            return
        how = f"resuming after activity {start.cursor}" if start.cursor else "from the first one"
        console.print(f"enriching {start.left:,} activities ({how})")
        read = changed = 0
        while True:
            step = store.enrich_batch(enricher, batch)
            read, changed = read + step.read, changed + step.changed
            if step.read:
                console.print(f"  {read:,} read, {changed:,} updated, {step.left:,} left")
            if step.left == 0 or step.read == 0:
                break
        console.print(
            f"done: {read:,} activities read, {changed:,} updated "
            f"({read - changed:,} already current)"
        )


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich)
