"""Shared state of one CLI invocation: settings, the store, and error display."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from opencasb.cli.terminal import markup
from opencasb.config import Settings, load_settings, make_private_dir
from opencasb.errors import OpenCASBError

if TYPE_CHECKING:
    from opencasb.enrich import Enricher
    from opencasb.store import Store

__all__ = [
    "Ctx",
    "console",
    "err_console",
    "fail",
    "handle_errors",
    "ingest_enricher",
    "show_problem",
]

console = Console()
err_console = Console(stderr=True)


def ingest_enricher(store: Store, settings: Settings) -> Callable[[], Enricher]:
    """What ingest enriches activities with: the settings' MaxMind files and the stored IP
    ranges, followed as they change (an :class:`~opencasb.enrich.stored.EnricherSource`,
    built on first use so that a command that never enriches never opens the files)."""
    from opencasb.enrich.stored import EnricherSource

    source: list[EnricherSource] = []

    def current() -> Enricher:
        if not source:
            source.append(EnricherSource(store, settings))
        return source[0].current()

    return current


@dataclass
class Ctx:
    """Lazily opened resources of one command."""

    data_dir: Path | None = None
    database_url: str | None = None
    _settings: Settings | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(data_dir=self.data_dir, database_url=self.database_url)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            from opencasb.store import open_store

            s = self.settings
            make_private_dir(s.data_dir)
            self._store = open_store(s.resolved_database_url(), key=s.master_key())
            self._store.enricher_source = ingest_enricher(self._store, s)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def show_problem(
    headline: str, *, code: str = "", detail: str = "", meaning: str = "", fix: str = ""
) -> None:
    """Print a problem: what happened, what it means, what to do.

    Every value is escaped: error text can quote user input, audit data or an API's answer;
    rich would otherwise read ``[...]`` in it as markup (and crash on ``[/]``), and the
    terminal would run the control sequences in it (see :mod:`opencasb.cli.terminal`).
    """
    err_console.print(f"[bold red]{markup(headline)}[/]")
    if code or detail:
        err_console.print(f"  [bold]error:[/] {markup(': '.join(p for p in (code, detail) if p))}")
    if meaning and meaning != detail:
        err_console.print(f"  [bold]meaning:[/] {markup(meaning)}")
    if fix:
        err_console.print(f"  [bold]fix:[/] {markup(fix)}")


def fail(err: OpenCASBError) -> NoReturn:
    """Print what happened and what to do, then exit 1."""
    err_console.print(f"[bold red]error:[/] {markup(str(err))}")
    if err.meaning and err.meaning != str(err):
        err_console.print(f"  [bold]meaning:[/] {markup(err.meaning)}")
    if err.fix:
        err_console.print(f"  [bold]fix:[/] {markup(err.fix)}")
    raise typer.Exit(1)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn OpenCASB errors into a clear message and exit code 1, never a traceback."""
    try:
        yield
    except OpenCASBError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err_console.print("stopped")
        sys.exit(130)
