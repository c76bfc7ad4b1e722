"""``opencasb activities`` (search and export) and ``opencasb import``."""

from __future__ import annotations

import itertools
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.formats import check_format
from opencasb.cli.tables import activities_view
from opencasb.cli.terminal import markup
from opencasb.clock import utc
from opencasb.errors import ConfigError, InstanceBusy

if TYPE_CHECKING:
    from opencasb.store import ActivityQuery

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
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="A filter in the filter language: a YAML/JSON file or inline JSON, e.g. "
            '\'{"field": "raw.debugContext.debugData.behaviors", "contains": "POSITIVE"}\'. '
            "Combines with the other options (AND).",
        ),
    ] = None,
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
        check_format(fmt, ("table", "json", "csv"))
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
        if filter_ is not None:
            _filtered(state, filter_, query, fmt, cap)
            return
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


def _filtered(state: Ctx, spec: str, query: ActivityQuery, fmt: str, cap: int | None) -> None:
    """`activities --filter`: the filter's SQL with the options, its residual over the rows
    (enriched with the settings' MaxMind files and the stored IP tags when it reads
    ``enrich.*`` or ``ip_tags``)."""
    import csv

    from opencasb.enrich.stored import load_enricher
    from opencasb.filters import iter_matching, load_filter, needs_enrichment, search
    from opencasb.store.codec import dumps
    from opencasb.store.export import CSV_COLUMNS, csv_row

    store = state.store
    flt = load_filter(spec)
    enricher = load_enricher(store, state.settings) if needs_enrichment(flt) else None
    if fmt == "table":
        page = search(store, flt, query, enricher=enricher)
        console.print(activities_view(page.items, console.width))
        if page.next_after:
            err_console.print(f"more: --after {markup(page.next_after)}")
        return
    rows = itertools.islice(iter_matching(store, flt, query, enricher=enricher), cap)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_row(a) for a in rows)
        return
    for a in rows:
        sys.stdout.write(dumps(a) + "\n")


def import_(
    ctx: typer.Context,
    app: Annotated[str, typer.Argument(help="The app the export comes from: okta, office365.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="The export: JSON lines or a JSON array of the app's records (gzip too); "
            "for office365 also the CSV of a Microsoft Purview audit search."
        ),
    ],
    instance: Annotated[
        str | None, typer.Option(help="Instance to import into (default: the app's name).")
    ] = None,
) -> None:
    """Import audit-log exports (history beyond the API's retention). Re-importing the same
    file adds nothing twice."""
    from opencasb.ingest.file_import import import_file

    state: Ctx = ctx.obj
    with handle_errors():
        name = instance or app
        done = import_file(state.store, app, file, instance=name, on_wait=_waiting)
        api = f" ({done.from_api:,} of them from the API, whose records are kept)"
        console.print(
            f"imported {escape(str(file))}: {done.inserted:,} new, "
            f"{done.duplicates:,} already present{api if done.from_api else ''}, "
            f"{done.rejected:,} quarantined"
            + (f" (see: opencasb rejected --instance {markup(name)})" if done.rejected else "")
        )


def _waiting(busy: InstanceBusy) -> None:
    err_console.print(f"waiting: {markup(str(busy))}")


def register(app: typer.Typer) -> None:
    app.command("activities")(activities)
    app.command("import")(import_)
