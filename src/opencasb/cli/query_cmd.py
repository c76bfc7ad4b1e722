"""``opencasb activities`` (search and export) and ``opencasb import``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.tables import activities_view
from opencasb.cli.terminal import markup
from opencasb.clock import utc
from opencasb.errors import ConfigError, NotFound

if TYPE_CHECKING:
    from opencasb.ingest.exports import BadRecord
    from opencasb.model import Activity

__all__ = ["register"]


def _time(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise ConfigError(
            f"{option} {value!r} is not a date or time", fix="use ISO 8601, e.g. 2026-11-01T08:00"
        ) from None


def activities(
    ctx: typer.Context,
    app: Annotated[str | None, typer.Option(help="App name, e.g. okta.")] = None,
    instance: Annotated[str | None, typer.Option(help="Instance name.")] = None,
    user: Annotated[str | None, typer.Option(help="Actor e-mail, name or id.")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="Activity type (eventType).")] = None,
    action: Annotated[str | None, typer.Option(help="Normalized action.")] = None,
    outcome: Annotated[str | None, typer.Option(help="success, failure or unknown.")] = None,
    ip: Annotated[str | None, typer.Option(help="An address or a CIDR.")] = None,
    country: Annotated[str | None, typer.Option(help="Country name or ISO code.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    text: Annotated[str | None, typer.Option(help="Free text.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Rows per page (table, default 50) or in total (exports: all)."),
    ] = None,
    after: Annotated[str | None, typer.Option(help="Page token from a previous call.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json (lines) or csv.")] = "table",
) -> None:
    """Search activities, newest first; export them as JSON lines or CSV."""
    from opencasb.store import ActivityQuery

    state: Ctx = ctx.obj
    with handle_errors():
        if fmt not in ("table", "json", "csv"):
            raise ConfigError(f"unknown format {fmt!r}", fix="use table, json or csv")
        query = ActivityQuery(
            app=app,
            instance=instance,
            user=user,
            activity_type=type_,
            action=action,
            outcome=outcome,
            ip=ip,
            country=country,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            text=text,
            limit=(50 if limit is None else limit) if fmt == "table" else 1000,
            after=after,
        )
        store = state.store
        cap = limit or None  # 0 or absent: the whole result
        if fmt == "json":
            store.write_jsonl(query, sys.stdout, max_rows=cap)
            return
        if fmt == "csv":
            store.write_csv(query, sys.stdout, max_rows=cap)
            return
        page = store.query_activities(query)
        console.print(activities_view(page.items, console.width))
        if page.next_after:
            err_console.print(f"more: --after {markup(page.next_after)}")


importer = typer.Typer(help="Import audit-log exports (history beyond the API's retention).")


@importer.command("okta")
def import_okta(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="System Log export: JSON array or JSON lines.")],
    instance: Annotated[str, typer.Option(help="Instance to import into.")] = "okta",
) -> None:
    """Import an Okta System Log export. Re-importing the same file adds nothing twice."""
    from opencasb.apps.okta.importer import read_okta_export
    from opencasb.apps.okta.normalize import normalize

    _import_file(
        ctx.obj,
        file,
        instance,
        _Importer("okta", "Okta", {"domain": "import"}, read_okta_export, normalize),
    )


@importer.command("office365")
def import_office365(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Audit records as JSON lines or a JSON array, or the CSV of a Microsoft "
            "Purview audit search (gzip too)."
        ),
    ],
    instance: Annotated[str, typer.Option(help="Instance to import into.")] = "office365",
) -> None:
    """Import Office 365 audit history. Re-importing the same file adds nothing twice."""
    from opencasb.apps.office365.importer import read_office365_export
    from opencasb.apps.office365.normalize import normalize

    _import_file(
        ctx.obj,
        file,
        instance,
        _Importer(
            "office365", "Office 365", {"tenant_id": "import"}, read_office365_export, normalize
        ),
    )


@dataclass(frozen=True, slots=True)
class _Importer:
    """How one app's exports are imported."""

    app: str
    title: str
    config: dict[str, str]
    """Config of an import-only instance, created when the named one does not exist."""
    read: Callable[[Path], Iterable[dict[str, Any] | BadRecord]]
    normalize: Callable[[Mapping[str, Any]], Activity]


def _import_file(state: Ctx, file: Path, instance: str, spec: _Importer) -> None:
    from opencasb.apps.base import load_app
    from opencasb.ingest.file_import import feed_name, import_records

    with handle_errors():
        store = state.store
        if not file.is_file():
            raise ConfigError(f"no such file: {file}", fix="give the path of the export file")
        # Read the first record before touching the store, so a file that is refused as a
        # whole (unreadable, not an export) leaves no empty import-only instance behind.
        records = iter(spec.read(file))
        head = list(islice(records, 1))
        try:
            rec = store.get_instance(instance)
        except NotFound:
            # Import-only instance: holds history, never polls (no credentials).
            rec = store.add_instance(spec.app, instance, spec.config, {}, enabled=False)
        if rec.app != spec.app:
            raise ConfigError(
                f"{instance} is an instance of {rec.app}, not {spec.app}",
                fix=f"name an {spec.title} instance with --instance, or a new name to create one",
            )
        feed = feed_name(file)
        done = import_records(
            store,
            rec.id,
            feed,
            chain(head, records),
            spec.normalize,
            services=load_app(spec.app).services,
        )
        console.print(
            f"imported {escape(str(file))}: {done.inserted:,} new, "
            f"{done.duplicates:,} already present, "
            f"{done.rejected:,} quarantined (see rejected records)"
        )


def register(app: typer.Typer) -> None:
    app.command("activities")(activities)
    app.add_typer(importer, name="import")
