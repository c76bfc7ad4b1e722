"""Entry point: global options and command registration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opencasb.cli import (
    alerts_cmd,
    apps_cmd,
    connect_cmd,
    demo_cmd,
    enrich_cmd,
    iptags_cmd,
    notifiers_cmd,
    policies_cmd,
    prune_cmd,
    query_cmd,
    rejected_cmd,
    sandbox_cmd,
    serve_cmd,
    sigma_cmd,
    sync_cmd,
    users_cmd,
)
from opencasb.cli.context import Ctx
from opencasb.config import load_settings
from opencasb.errors import ConfigError
from opencasb.logs import FORMATS, LEVELS
from opencasb.logs import configure as configure_logging

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
    log_level: Annotated[
        str | None,
        typer.Option(
            help=f"Log records at this level and above go to stderr: {', '.join(LEVELS)} "
            "(setting OPENCASB_LOG_LEVEL; default error, as commands show problems themselves).",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            help="text for people, json for log collectors: one object per line "
            "(setting OPENCASB_LOG_FORMAT; default text).",
        ),
    ] = None,
) -> None:
    _logging(log_level, log_format)
    state = Ctx(data_dir=data_dir, database_url=database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


def _logging(level: str | None, fmt: str | None) -> None:
    """Configure logging before any command runs; the options beat the settings."""
    for value, allowed, option in ((level, LEVELS, "--log-level"), (fmt, FORMATS, "--log-format")):
        if value is not None and value.lower() not in allowed:
            raise typer.BadParameter(f"use one of {', '.join(allowed)}", param_hint=option)
    try:
        settings = load_settings(log_level=level, log_format=fmt)
    except ConfigError:
        # The command that needs the settings reports what is wrong with them, with the fix.
        configure_logging(level or "error", fmt or "text")
        return
    configure_logging(settings.log_level, settings.log_format)


connect_cmd.register(app)
apps_cmd.register(app)
sync_cmd.register(app)
query_cmd.register(app)
rejected_cmd.register(app)
sandbox_cmd.register(app)
demo_cmd.register(app)
prune_cmd.register(app)
enrich_cmd.register(app)
policies_cmd.register(app)
iptags_cmd.register(app)
alerts_cmd.register(app)
serve_cmd.register(app)
users_cmd.register(app)
notifiers_cmd.register(app)
sigma_cmd.register(app)


def main() -> None:
    app()
