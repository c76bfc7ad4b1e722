"""``opencasb rejected``: list, show and retry quarantined records.

Records that could not be read or normalized (from a sync or an import) are kept with the
reason instead of being dropped. The views escape control characters (the records are
outside data); ``--format json`` gives the exact text.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.context import Ctx, console, err_console, handle_errors
from opencasb.cli.formats import LinesFormat, TextFormat, check_format
from opencasb.cli.terminal import clip, markup, visible
from opencasb.errors import InstanceBusy

if TYPE_CHECKING:
    from opencasb.store import RejectedRecord

__all__ = ["register"]

rejected = typer.Typer(
    help="Records that could not be read or normalized, kept with the reason.",
    invoke_without_command=True,
)


def _as_json(r: RejectedRecord, *, raw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "instance": r.instance,
        "feed": r.feed,
        "error": r.error,
        "received_at": r.received_at.isoformat(),
    }
    if raw:
        out["raw"] = r.raw
    return out


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


@rejected.callback()
def list_rejected(
    ctx: typer.Context,
    instance: Annotated[str | None, typer.Option(help="Only this instance.")] = None,
    feed: Annotated[str | None, typer.Option(help="Only this feed (e.g. import:x.json).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (0: all).")] = 50,
    fmt: LinesFormat = "table",
) -> None:
    """List quarantined records, newest first: id, instance, feed, reason, time."""
    if ctx.invoked_subcommand is not None:
        return
    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt)
        store = state.store
        instance_id = store.get_instance(instance).id if instance else None
        rows = store.list_rejected(instance_id=instance_id, feed=feed, limit=limit or None)
        if fmt == "json":
            for r in rows:
                sys.stdout.write(orjson.dumps(_as_json(r, raw=True)).decode() + "\n")
            return
        if not rows:
            console.print("no rejected records")
            return
        table = Table()
        for col in ("id", "instance", "feed", "reason", "received"):
            table.add_column(col, overflow="fold")
        for r in rows:
            cells = (str(r.id), clip(r.instance), clip(r.feed), clip(r.error), _when(r.received_at))
            table.add_row(*(Text(c) for c in cells))
        console.print(table)
        total = store.count_rejected(instance_id) if instance_id is not None else None
        if total is not None and total > len(rows):
            err_console.print(f"{len(rows)} of {total:,}; --limit 0 lists all")
        err_console.print("show one: opencasb rejected show ID; retry: opencasb rejected retry")


@rejected.command("show")
def show(
    ctx: typer.Context,
    record_id: Annotated[int, typer.Argument(metavar="ID", help="Id from the list.")],
    fmt: TextFormat = "text",
) -> None:
    """Show one quarantined record: where it came from, why, and the record as kept."""
    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt, ("text", "json"))
        r = state.store.get_rejected(record_id)
        if fmt == "json":
            sys.stdout.write(orjson.dumps(_as_json(r, raw=True)).decode() + "\n")
            return
        console.print(f"[bold]rejected record #{r.id}[/]")
        console.print(f"instance: {markup(r.instance)}")
        console.print(f"feed:     {markup(r.feed)}")
        console.print(f"received: {_when(r.received_at)} UTC")
        console.print(f"reason:   {markup(r.error)}")
        console.print("record:")
        # Pretty JSON when it parses; either way every control character is made visible.
        try:
            text = orjson.dumps(orjson.loads(r.raw), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            text = r.raw
        console.print(Text(visible(text, multiline=True)))


@rejected.command("retry")
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", help="Only these.")] = None,
    instance: Annotated[str | None, typer.Option(help="Only this instance.")] = None,
) -> None:
    """Normalize quarantined records again (after a fix or a new version); store the ones
    that now pass and take them out of the quarantine."""
    from opencasb.ingest.retry import retry_rejected

    state: Ctx = ctx.obj
    with handle_errors():
        done = retry_rejected(state.store, instance=instance, ids=ids or (), on_wait=_waiting)
        passed = done.tried - len(done.still)
        console.print(
            f"retried {done.tried:,}: {passed:,} now pass ({done.stored:,} new, "
            f"{done.duplicates:,} already present), {len(done.still):,} still rejected"
        )


def _waiting(busy: InstanceBusy) -> None:
    err_console.print(f"waiting: {markup(str(busy))}")


def register(app: typer.Typer) -> None:
    app.add_typer(rejected, name="rejected")
