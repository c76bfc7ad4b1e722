"""``opencasb alerts``: list, show, close and comment on the alerts the policies raised.

Alert text quotes audit data (user names, addresses, file names chosen by whoever acted), so
every terminal view goes through :mod:`opencasb.cli.terminal`; ``--format json`` gives the
exact values, in the API's shape (:func:`opencasb.store.alerts.alert_json`: the list's
alerts, and :func:`~opencasb.store.alerts.alert_detail_json`: one alert).
"""

from __future__ import annotations

import getpass
import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from opencasb.cli.audit import record_cli
from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.cli.formats import LinesFormat, TextFormat, check_format
from opencasb.cli.tables import AlertRow, alerts_view
from opencasb.cli.terminal import markup
from opencasb.errors import ConfigError, OpenCASBError

if TYPE_CHECKING:
    from opencasb.clock import Clock
    from opencasb.config import Settings
    from opencasb.enrich import Enricher
    from opencasb.enrich.stored import EnricherSource
    from opencasb.store import Store

__all__ = ["cli_author", "register", "run_detection"]

log = logging.getLogger(__name__)

alerts = typer.Typer(
    help="Alerts raised by the activity policies and anomaly detections: list, show, close, "
    "comment.",
    invoke_without_command=True,
)


def run_detection(
    store: Store,
    clock: Clock,
    *,
    enricher: Enricher | EnricherSource | None = None,
    settings: Settings | None = None,
) -> int:
    """The sync loop's hook: run the detection stage until it has caught up, after an ingest
    pass and outside its transaction. Returns the alerts written; a failure is shown and
    logged, never raised (ingest goes on; the stage resumes from its committed cursor).
    ``settings`` configures the anomaly detections (default: on, medium, 7 days) and the
    activities per pass (default 5,000), and the Sigma rules evaluated beside the stored
    policies (``sigma_rules_dir``). ``enricher``: an enricher, or the source of a
    long-running process (its current one, reloaded when the IP tags changed); None: one
    with the settings' MaxMind files and the stored IP tags."""
    from opencasb.detect.anomaly import AnomalySettings
    from opencasb.detect.sigma import load_sigma_policies
    from opencasb.detect.stage import DetectionStage, anomaly_settings
    from opencasb.enrich.stored import EnricherSource

    anomaly = anomaly_settings(settings) if settings is not None else AnomalySettings()
    # Start and end lines: where the time of a sync goes, and (tests) when a crash lands
    # inside detection.
    log.info("detection stage: catching up (anomaly detections %s)", "on" if anomaly else "off")
    try:
        sigma = load_sigma_policies(settings) if settings is not None else []
        if enricher is None:
            enricher = EnricherSource(store, settings)
        if isinstance(enricher, EnricherSource):
            enricher = enricher.current()
        stage = DetectionStage(
            store, clock, enricher=enricher, anomaly=anomaly, extra_policies=sigma
        )
        done = stage.run_until_caught_up(settings.detection_batch if settings else 5000)
        log.info("detection stage: caught up: %d activities read, %d alerts written",
                 done.read, done.alerts)  # fmt: skip
        return done.alerts
    except OpenCASBError as exc:
        log.error("detection stage failed: %s", exc)
        show_problem(f"detection: {exc}", meaning=exc.meaning, fix=exc.fix)
        return 0


def _write_json(value: dict[str, Any]) -> None:
    """One JSON line, times as ISO 8601 UTC with a ``Z`` (as the API writes them)."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_UTC_Z).decode() + "\n")


_Status = Annotated[str | None, typer.Option(help="open or closed.")]
_Severity = Annotated[str | None, typer.Option(help="informational, low, medium or high.")]
_Limit = Annotated[int, typer.Option(help="At most this many.")]


@alerts.callback()
def alerts_default(
    ctx: typer.Context,
    status: _Status = None,
    severity: _Severity = None,
    limit: _Limit = 100,
    fmt: LinesFormat = "table",
) -> None:
    """List alerts, newest evidence first (the same as ``opencasb alerts list``)."""
    if ctx.invoked_subcommand is not None:
        return
    _list(ctx.obj, status, severity, limit, fmt)


@alerts.command("list")
def list_alerts(
    ctx: typer.Context,
    status: _Status = None,
    severity: _Severity = None,
    limit: _Limit = 100,
    fmt: LinesFormat = "table",
) -> None:
    """List alerts, newest evidence first."""
    _list(ctx.obj, status, severity, limit, fmt)


def _list(state: Ctx, status: str | None, severity: str | None, limit: int, fmt: str) -> None:
    """The listing shared by ``opencasb alerts`` and ``opencasb alerts list``."""
    from opencasb.store.alerts import alert_json

    with handle_errors():
        check_format(fmt)
        if status not in (None, "open", "closed"):
            raise ConfigError(f"unknown status {status!r}", fix="use open or closed")
        severities = ("informational", "low", "medium", "high")
        if severity is not None and severity not in severities:
            raise ConfigError(f"unknown severity {severity!r}", fix=f"use {', '.join(severities)}")
        rows = state.store.detection.list_alerts(status=status, severity=severity, limit=limit)
        if fmt == "json":
            for a in rows:
                _write_json(alert_json(a))
            return
        if not rows:
            console.print("no alerts")
            return
        views = []
        for a in rows:
            state_text = a.status + (f" ({a.resolution})" if a.resolution else "")
            if a.historical:
                state_text += ", historical"
            views.append(
                AlertRow(a.id[:12], a.last_time, a.severity, state_text, a.title, len(a.evidence))
            )
        console.print(alerts_view(views, console.width))
        err_console.print("show one: opencasb alerts show ID (a prefix of the id is enough)")


@alerts.command("show")
def show(
    ctx: typer.Context,
    alert_id: Annotated[str, typer.Argument(metavar="ID", help="Id (or its prefix).")],
    evidence: Annotated[int, typer.Option(help="Show at most this many evidence activities.")] = 50,
    fmt: TextFormat = "text",
) -> None:
    """One alert: what, who, when, the explanation, comments and the evidence activities."""
    from opencasb.cli.tables import activities_view
    from opencasb.store.alerts import alert_detail_json

    state: Ctx = ctx.obj
    with handle_errors():
        check_format(fmt, ("text", "json"))
        det = state.store.detection
        a = det.get_alert(alert_id)
        if fmt == "json":
            _write_json(alert_detail_json(a))
            return
        console.print(f"[bold]{markup(a.title)}[/]")
        console.print(f"id:          {a.id}")
        console.print(f"policy:      {markup(a.policy_id)}")
        console.print(
            f"severity:    {a.severity}   category: {a.category}   tactic: {a.tactic or '-'}"
        )
        console.print(f"user:        {markup(a.entity)}")
        console.print(
            f"seen:        {a.first_time:%Y-%m-%d %H:%M:%S} to {a.last_time:%Y-%m-%d %H:%M:%S} UTC"
        )
        status = a.status + (f" as {a.resolution}" if a.resolution else "")
        console.print(f"status:      {status}{' (historical)' if a.historical else ''}")
        console.print(f"explanation: {markup(a.explanation)}")
        for c in a.comments:
            by = markup(c.author or "unknown author")
            console.print(f"comment by {by} ({c.created_at:%Y-%m-%d %H:%M}): {markup(c.text)}")
        ids = list(a.evidence[:evidence])
        found = det.activities_by_id(ids)
        console.print(f"evidence: {len(a.evidence)} activities", end="")
        missing = len([i for i in ids if i not in found])
        console.print(f" ({missing} no longer stored)" if missing else "")
        console.print(activities_view([found[i] for i in ids if i in found], console.width))
        if len(a.evidence) > len(ids):
            err_console.print(f"{len(ids)} of {len(a.evidence)} shown; --evidence N shows more")


@alerts.command("close")
def close(
    ctx: typer.Context,
    alert_id: Annotated[str, typer.Argument(metavar="ID", help="Id (or its prefix).")],
    resolution: Annotated[str, typer.Option(help="true_positive, benign or false_positive.")],
    comment: Annotated[str | None, typer.Option(help="Why; kept with the alert.")] = None,
) -> None:
    """Close an alert with a resolution (and a comment)."""
    state: Ctx = ctx.obj
    with handle_errors():
        full = state.store.detection.close_alert(
            alert_id, resolution, comment, author=cli_author() if comment else None
        )
        record_cli(state.store, "alert.close", target=full, detail={"resolution": resolution})
        console.print(f"closed {full} as {markup(resolution)}")


@alerts.command("comment")
def comment(
    ctx: typer.Context,
    alert_id: Annotated[str, typer.Argument(metavar="ID", help="Id (or its prefix).")],
    text: Annotated[str, typer.Argument(metavar="TEXT")],
) -> None:
    """Add a comment to an alert; its author is the operating-system user running this
    command (``cli`` when none is known)."""
    state: Ctx = ctx.obj
    with handle_errors():
        full = state.store.detection.comment_alert(alert_id, text, author=cli_author())
        record_cli(state.store, "alert.comment", target=full)
        console.print(f"commented on {full}")


def cli_author() -> str:
    """The author of a comment written with the CLI: the operating-system user, or ``cli``
    when the system names none (no login name, no passwd entry for the uid)."""
    try:
        return getpass.getuser() or "cli"
    except (OSError, KeyError):
        return "cli"


def register(app: typer.Typer) -> None:
    app.add_typer(alerts, name="alerts")
