"""``opencasb iptags``: the tagged IP ranges the enrichment, policies and detections use.

A tag says what a network is to the organisation (``corporate``, ``vpn``, ``cloud_provider``,
``anonymous_proxy``, ``tor``, ``threat_intel`` or a label of your own). Ranges live in the
store (:mod:`opencasb.store.iptags`); a running ``opencasb sync`` or ``serve`` picks a change
up at its next detection pass or request. A file imported again replaces what it brought
the last time (its ranges are kept under ``file:<its name>``).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.formats import LinesFormat, TableFormat, check_format
from opencasb.cli.terminal import clip, markup
from opencasb.enrich.iptags import KNOWN_TAGS, IpTagFileError

if TYPE_CHECKING:
    from opencasb.store.iptags import IpTagRecord

__all__ = ["register"]

iptags = typer.Typer(
    help="Tagged IP ranges (corporate, vpn, cloud_provider, anonymous_proxy, tor, "
    "threat_intel or your own labels): list, add, remove, import, export, lookup.",
    no_args_is_help=True,
)

_TAG_HELP = f"A tag: {', '.join(KNOWN_TAGS)}, or a label of your own (letters, digits, _)."


def _who() -> str:
    """Who made a change from this terminal (``cli:<login name>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in a bare container
        return "cli"


def _write_json(value: Any) -> None:
    """One JSON line, in the API's shape (times ISO 8601 UTC with ``Z``)."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_UTC_Z).decode() + "\n")


def _table(records: list[IpTagRecord]) -> Table:
    table = Table()
    for col in ("id", "tag", "network", "name", "source", "added", "by"):
        table.add_column(col, overflow="fold")
    for r in records:
        cells = (
            str(r.id),
            r.tag,
            r.network,
            clip(r.name),
            clip(r.source),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            clip(r.created_by),
        )
        table.add_row(*(Text(c) for c in cells))  # names are the user's text, not markup
    return table


def _by_tag(records: list[IpTagRecord]) -> list[IpTagRecord]:
    return sorted(records, key=lambda r: (r.tag, r.range.version, r.range.first, r.id))


@iptags.command("list")
def list_ranges(
    ctx: typer.Context,
    tag: Annotated[str | None, typer.Option(help="Only this tag.")] = None,
    fmt: LinesFormat = "table",
) -> None:
    """The stored ranges, by tag and address: id, network, name, where each came from."""
    from opencasb.store.iptags import iptag_json

    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt)
        records = _by_tag(state.store.ip_tags.records(tag=tag))
        if fmt == "json":
            for r in records:
                _write_json(iptag_json(r))
            return
        if not records:
            which = f" tagged {markup(tag)}" if tag else ""
            console.print(
                f"no IP ranges{which}; add one with 'opencasb iptags add NETWORK --tag T'"
            )
            return
        console.print(_table(records))


@iptags.command("add")
def add(
    ctx: typer.Context,
    network: Annotated[
        str, typer.Argument(help="A CIDR (203.0.113.0/24), an address, or a span (a-b).")
    ],
    tag: Annotated[str, typer.Option(help=_TAG_HELP)],
    name: Annotated[str, typer.Option(help="What the range is, e.g. 'Berlin office'.")] = "",
) -> None:
    """Tag one range."""
    state: Ctx = ctx.obj
    with handle_errors():
        r = state.store.ip_tags.add(network, tag, name=name, source="cli", created_by=_who())
        console.print(f"added {r.network} tagged {r.tag} (id {r.id})")


@iptags.command("remove")
def remove(
    ctx: typer.Context,
    spec: Annotated[
        str, typer.Argument(metavar="NETWORK|ID", help="A stored range's network or id.")
    ],
    tag: Annotated[str | None, typer.Option(help="Only the range with this tag.")] = None,
) -> None:
    """Remove a range by id, or a network's ranges (of every tag, or only --tag)."""
    state: Ctx = ctx.obj
    with handle_errors():
        for r in state.store.ip_tags.remove(spec, tag=tag):
            console.print(
                f"removed {r.network} tagged {r.tag} (id {r.id}, from {markup(r.source)})"
            )


@iptags.command("import")
def import_file(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="One range a line, or CSV.")],
    tag: Annotated[
        str | None, typer.Option(help="The tag of lines that name none. " + _TAG_HELP)
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Also remove the ranges of the file's tags that came from elsewhere: the "
            "file becomes the whole list of those tags.",
        ),
    ] = False,
) -> None:
    """Import a file of ranges: a network a line (with --tag), or CSV network,tag[,name].

    The file's ranges replace those it brought the last time it was imported (under the
    source file:NAME). Every bad line is reported with its line number, and then nothing is
    stored.
    """
    from opencasb.enrich.iptags import load_ip_ranges
    from opencasb.store.iptags import file_source

    state: Ctx = ctx.obj
    with handle_errors():
        try:
            ranges = load_ip_ranges(path, tag=tag)
        except IpTagFileError as exc:
            _problems(exc)
        source = file_source(path.name)
        tags = {r.tag for r in ranges} | ({tag} if tag else set())
        done = state.store.ip_tags.import_ranges(
            source, ranges, created_by=_who(), replace_tags=tags if replace else ()
        )
        console.print(
            f"imported {markup(path.name)} as {markup(source)}: {done.added} added, "
            f"{done.removed} removed, {done.unchanged} unchanged"
        )


def _problems(exc: IpTagFileError) -> NoReturn:
    """Every problem of the file, one a line (the error's own text stops at 50)."""
    err_console.print(
        f"[bold red]error:[/] {len(exc.problems)} bad line(s) in {markup(str(exc.path))}:"
    )
    for problem in exc.problems:
        err_console.print(f"  {markup(problem)}")
    err_console.print(f"  [bold]fix:[/] {markup(exc.fix)}")
    raise typer.Exit(1)


@iptags.command("export")
def export(
    ctx: typer.Context,
    tag: Annotated[str | None, typer.Option(help="Only this tag.")] = None,
) -> None:
    """Write the stored ranges as CSV (network,tag,name) to standard output; 'opencasb iptags
    import' reads it back."""
    state: Ctx = ctx.obj
    with handle_errors():
        sys.stdout.write(state.store.ip_tags.export_csv(tag=tag))


@iptags.command("lookup")
def lookup(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(metavar="IP", help="An IPv4 or IPv6 address.")],
    fmt: TableFormat = "table",
) -> None:
    """Which tags an address carries, and the stored ranges that give them."""
    from opencasb.store.iptags import iptag_json

    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt)
        records = _by_tag(state.store.ip_tags.lookup(address))
        tags = sorted({r.tag for r in records})
        if fmt == "json":
            _write_json(
                {"ip": address.strip(), "tags": tags, "ranges": [iptag_json(r) for r in records]}
            )
            return
        if not records:
            console.print(f"{markup(address.strip())}: no tag")
            return
        console.print(f"{markup(address.strip())}: {', '.join(tags)}")
        console.print(_table(records))


def register(app: typer.Typer) -> None:
    app.add_typer(iptags, name="iptags")
