"""``opencasb demo``: the whole product on this laptop (see :mod:`opencasb.cli.demo`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

from opencasb.cli.context import Ctx, handle_errors
from opencasb.cli.sandbox_cmd import DEMO_DIR, wait_for_stop

__all__ = ["register"]


def demo(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(help="People in the synthetic org.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic org.")] = 1,
    days: Annotated[int, typer.Option(help="Days of history to backfill.")] = 30,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its store.")] = DEMO_DIR,
    reset: Annotated[bool, typer.Option("--reset", help="Start from an empty store.")] = False,
    port: Annotated[int, typer.Option(help="Port of the Okta emulator (0: any).")] = 9443,
    poll: Annotated[int, typer.Option(help="Seconds between polls after the backfill.")] = 15,
    portal_port: Annotated[
        int, typer.Option(help="Port of the web portal on 127.0.0.1 (busy or 0: any).")
    ] = 8443,
    exit_when_ready: Annotated[
        bool, typer.Option("--exit-when-ready", help="Stop once the backfill is done.")
    ] = False,
) -> None:
    """Run the whole product on this laptop: emulated Okta and Office 365 over HTTPS,
    connected, backfilled and polled, and the web portal (its address and the admin's
    password are printed)."""
    from opencasb.cli.demo import run_demo

    state: Ctx = ctx.obj
    with handle_errors():
        if reset and data_dir.exists():
            shutil.rmtree(data_dir)
        state.data_dir = data_dir
        state.database_url = f"sqlite:///{data_dir.resolve() / 'opencasb.db'}"
        t0 = time.monotonic()
        run_demo(
            state,
            size=size,
            seed=seed,
            days=days,
            port=port,
            poll=poll,
            started=t0,
            stop=wait_for_stop(),
            exit_when_ready=exit_when_ready,
            portal_port=portal_port,
        )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
