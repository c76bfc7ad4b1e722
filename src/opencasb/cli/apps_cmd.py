"""``opencasb apps`` (the status table, or JSON), its subcommands that change an instance
(see :mod:`opencasb.cli.manage_cmd`), and ``opencasb test NAME``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from opencasb.apps.base import connector_for
from opencasb.cli import manage_cmd
from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, handle_errors, show_problem
from opencasb.cli.formats import check_format
from opencasb.cli.tables import AppRow, apps_view
from opencasb.cli.terminal import markup
from opencasb.http.options import HttpOptions
from opencasb.ingest.runner import SERVICES_STATE
from opencasb.store import InstanceRecord
from opencasb.store.codec import dumps, loads
from opencasb.store.health_codec import health_to_json

__all__ = ["register"]


def _services(state: Ctx, rec: InstanceRecord) -> list[str]:
    """The services of a suite seen so far (Exchange, SharePoint ...), sorted."""
    return sorted(state.store.get_state(rec.id, SERVICES_STATE) or {})


def _as_json(rec: InstanceRecord, services: list[str]) -> dict[str, Any]:
    """What scripts get of one instance: its settings and health, never its secrets (an
    InstanceRecord holds none)."""
    return {
        "name": rec.name,
        "app": rec.app,
        "enabled": rec.enabled,
        "state": rec.health.state.value,
        "interval_seconds": rec.interval_seconds,
        "created_at": rec.created_at.isoformat(),
        "config": rec.config,
        "services": services,
        "health": loads(health_to_json(rec.health)),
    }


def apps(
    ctx: typer.Context,
    fmt: Annotated[
        str, typer.Option("--format", help="table, or json (one array, for scripts).")
    ] = "table",
) -> None:
    """Show every connected app instance and its health; a suite's services (Office 365's
    Exchange, SharePoint, Teams ...) appear under it once their first activity is seen.

    Change an instance with `apps edit`, pause it with `apps disable`, resume it with
    `apps enable`, delete it with `apps remove`.
    """
    if ctx.invoked_subcommand is not None:
        return
    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt)
        recs = state.store.list_instances()
        rows = [(rec, _services(state, rec)) for rec in recs]
        if fmt == "json":
            # Plain stdout: rich would wrap long lines and colour the JSON.
            sys.stdout.write(dumps([_as_json(rec, services) for rec, services in rows]) + "\n")
            return
        if not recs:
            console.print("no apps connected yet: run `opencasb connect okta --domain ...`")
            return
        view = [AppRow(rec.name, rec.app, rec.health, services) for rec, services in rows]
        console.print(apps_view(view, console.width))


def test(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The instance to test.")]
) -> None:
    """Test an instance's connection and explain any failure."""
    state: Ctx = ctx.obj
    with handle_errors():
        store = state.store
        rec = store.get_instance(name)
        connector = connector_for(rec, store.instance_secrets(rec), http=HttpOptions(max_retries=1))
        try:
            check = connector.test()
        finally:
            connector.close()
        detail = {"app": rec.app, **({"error": check.error.code} if check.error else {})}
        outcome = "success" if check.ok else "failure"
        record_cli(store, "app.test", target=rec.name, outcome=outcome, detail=detail)
        if check.ok:
            console.print(f"[green]✓[/] {markup(name)}: {markup(check.summary)}")
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
    group = typer.Typer(no_args_is_help=False)
    group.callback(invoke_without_command=True)(apps)
    manage_cmd.register(group)
    app.add_typer(group, name="apps")
    app.command("test")(test)
