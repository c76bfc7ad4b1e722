"""``opencasb sync``: backfill with progress bars, then poll on each instance's interval."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.cli.terminal import markup
from opencasb.clock import Clock, SystemClock
from opencasb.config import Settings
from opencasb.enrich.stored import EnricherSource
from opencasb.errors import InstanceBusy
from opencasb.ingest.runner import IngestRunner, PageEvent, RunResult
from opencasb.ingest.scheduler import Scheduler
from opencasb.store import Store

if TYPE_CHECKING:
    from opencasb.notify.stage import NotifyStage

__all__ = ["backfill_progress", "register", "report"]


def report(result: RunResult) -> None:
    """One line per run: what was stored, or the error with its fix."""
    if result.error is not None:
        err = result.error
        show_problem(f"{result.instance}: {err}", meaning=err.meaning, fix=err.fix)
        return
    console.print(
        f"{markup(result.instance)}: {result.inserted:,} new, {result.duplicates:,} duplicate, "
        f"{result.rejected:,} quarantined ({result.pages} pages)"
    )


class _Bars:
    """Progress bars per instance/feed, shown while a feed is behind."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, ev: PageEvent) -> None:
        key = f"{ev.instance}/{ev.feed}"
        if key not in self.tasks:
            # The description is rendered as markup: names are escaped and made visible.
            self.tasks[key] = self.progress.add_task(markup(key), total=1000, stored=0)
        task = self.tasks[key]
        stored = self.progress.tasks[task].fields.get("stored", 0) + ev.inserted
        done = 1000 if ev.page.caught_up else int((ev.page.progress or 0.0) * 1000)
        self.progress.update(task, completed=done, stored=stored)


def backfill_progress(prefix: str = "") -> tuple[Progress, Callable[[PageEvent], None]]:
    """A progress display and the runner callback that drives it (one bar per feed)."""
    progress = Progress(
        TextColumn(prefix + "{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stored]:,} stored"),
        TimeElapsedColumn(),
        console=console,
    )
    return progress, _Bars(progress)


def sync(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this instance.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Catch up once, then exit.")] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="When another process syncs an instance, wait for it."),
    ] = False,
) -> None:
    """Fetch new activities: catch up (backfilling if new), then keep polling."""
    from opencasb.notify.stage import NotifyStage

    state: Ctx = ctx.obj
    with handle_errors():
        store = state.store
        clock = SystemClock()
        notify = NotifyStage(store, clock)  # one for every pass (it spaces out pruning)
        progress, bars = backfill_progress()
        runner = IngestRunner(
            store, clock=clock, on_page=bars, wait_for_lease=wait, on_wait=_waiting
        )
        enrichers = EnricherSource(store, state.settings)  # follows the stored IP tags
        names = [name] if name else [r.name for r in store.list_instances() if r.enabled]
        if name:
            store.get_instance(name)  # NotFound with a clear message
        if once:
            failed = False
            with progress:
                results = [runner.run_once(n) for n in names]
            for result in results:
                report(result)
                failed |= not result.ok
            _detect(store, clock, state.settings, enrichers)
            _notify(notify)
            raise typer.Exit(1 if failed else 0)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)

        def _report(result: RunResult) -> None:
            report(result)
            if result.inserted:
                _detect(store, clock, state.settings, enrichers)
            _notify(notify)
            if isinstance(result.error, InstanceBusy):  # another sync has it: leave it be
                stop.set()
                busy.append(result.error)

        busy: list[InstanceBusy] = []
        scheduler = Scheduler(
            runner,
            clock,
            stop=stop,
            on_result=_report,
            only={name} if name else None,
            retention_days=state.settings.retention_days,
        )
        # A previous run may have been stopped (or killed) before its detection caught up:
        # finish that now, not after the first poll that stores something.
        _detect(store, clock, state.settings, enrichers)
        console.print("polling; Ctrl-C to stop")
        try:
            with progress:
                scheduler.run_forever()
        except KeyboardInterrupt:
            stop.set()
        if busy:
            raise typer.Exit(1)
        console.print("stopped")


def _detect(store: Store, clock: Clock, settings: Settings, enrichers: EnricherSource) -> None:
    """After an ingest pass, outside its transaction: the detection stage catches up, with
    the IP tags as stored now (reloaded when they changed since the last pass)."""
    from opencasb.cli.alerts_cmd import run_detection

    if found := run_detection(store, clock, enricher=enrichers, settings=settings):
        console.print(f"detection: {found:,} alerts raised or extended; see 'opencasb alerts'")


def _notify(stage: NotifyStage) -> None:
    """After detection (and after every pass, for retries that fell due): the notifiers."""
    from opencasb.cli.notifiers_cmd import run_notifications

    run_notifications(stage)


def _waiting(busy: InstanceBusy) -> None:
    err_console.print(f"waiting: {markup(str(busy))}")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
