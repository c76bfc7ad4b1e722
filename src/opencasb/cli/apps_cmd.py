"""``opencasb apps`` (the status table) and ``opencasb test NAME``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from opencasb.apps.base import HttpOptions
from opencasb.cli.context import Ctx, console, handle_errors, show_problem
from opencasb.ingest.runner import SERVICES_FEED, IngestRunner
from opencasb.model import Health, HealthState

__all__ = ["register"]

_STYLE = {
    HealthState.CONNECTED: "green",
    HealthState.BACKFILLING: "cyan",
    HealthState.CONNECTING: "cyan",
    HealthState.DEGRADED: "yellow",
    HealthState.ERROR: "red",
    HealthState.DISABLED: "dim",
}


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    return when.strftime("%Y-%m-%d %H:%M:%SZ")


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _state(h: Health) -> str:
    text = f"[{_STYLE[h.state]}]{h.state.value}[/]"
    if h.state is HealthState.BACKFILLING and h.progress is not None:
        text += f" {h.progress:.0%}"
    return text


def apps(ctx: typer.Context) -> None:
    """Show every connected app instance and its health; a suite's services (Office 365's
    Exchange, SharePoint, Teams ...) appear under it once their first activity is seen."""
    state: Ctx = ctx.obj
    with handle_errors():
        recs = state.store.list_instances()
        if not recs:
            console.print("no apps connected yet: run `opencasb connect okta --domain ...`")
            return
        table = Table(title="Connected apps")
        for col in (
            "name",
            "app",
            "state",
            "last poll",
            "newest event",
            "lag",
            "events",
            "problem",
        ):
            table.add_column(col, overflow="fold")
        for rec in recs:
            h = rec.health
            problem = ""
            if h.last_error and h.state in (HealthState.ERROR, HealthState.DEGRADED):
                problem = f"{h.last_error.code}: {h.last_error.meaning}\nfix: {h.last_error.fix}"
            services = sorted(state.store.get_cursor(rec.id, SERVICES_FEED) or {})
            app_cell = rec.app + (f"\n({', '.join(services)})" if services else "")
            table.add_row(
                Text(rec.name),
                Text(app_cell),
                _state(h),
                _ago(h.last_success),
                _ago(h.newest_event),
                _lag(h.lag_seconds),
                f"{h.events_stored:,}",
                Text(problem),
            )
        console.print(table)


def test(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The instance to test.")]
) -> None:
    """Test an instance's connection and explain any failure."""
    state: Ctx = ctx.obj
    with handle_errors():
        runner = IngestRunner(state.store, http=HttpOptions(max_retries=1))
        connector = runner.connector(name)
        try:
            check = connector.test()
        finally:
            connector.close()
        if check.ok:
            console.print(f"[green]✓[/] {escape(name)}: {escape(check.summary)}")
            return
        e = check.error
        show_problem(
            f"✗ {name}: connection test failed",
            code=e.code if e else "",
            detail=check.summary,
            meaning=e.meaning if e else "",
            fix=e.fix if e else "",
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("apps")(apps)
    app.command("test")(test)
