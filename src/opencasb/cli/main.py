"""Entry point: global options and command registration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opencasb.cli import apps_cmd, connect_cmd, query_cmd, sandbox_cmd, sync_cmd
from opencasb.cli.context import Ctx

__all__ = ["app", "main"]

app = typer.Typer(
    name="opencasb",
    help="OpenCASB: audit logs, detections and governance for your SaaS apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="OPENCASB_DATA_DIR", help="Where the store and the master key live."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="OPENCASB_DATABASE_URL", help="SQLAlchemy URL (default: SQLite)."),
    ] = None,
) -> None:
    state = Ctx(data_dir=data_dir, database_url=database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


connect_cmd.register(app)
apps_cmd.register(app)
sync_cmd.register(app)
query_cmd.register(app)
sandbox_cmd.register(app)


def main() -> None:
    app()
