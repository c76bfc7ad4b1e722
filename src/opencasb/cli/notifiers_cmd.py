"""``opencasb notifiers``: where alerts are sent (webhook, syslog CEF, e-mail) and what
could not be delivered.

Secrets (the webhook's signing key, the SMTP password) come from an environment variable, a
file or a hidden prompt, never from the command line. ``opencasb sync`` and ``opencasb
demo`` deliver after each detection pass (:func:`run_notifications`).
"""

from __future__ import annotations

import logging
import secrets as _random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from opencasb.cli.context import Ctx, console, err_console, handle_errors, show_problem
from opencasb.cli.secrets import read_secret
from opencasb.cli.terminal import clip, markup
from opencasb.errors import ConfigError, OpenCASBError

if TYPE_CHECKING:
    from opencasb.notify.stage import NotifyResult, NotifyStage

__all__ = ["register", "run_notifications"]

log = logging.getLogger(__name__)

notifiers = typer.Typer(
    help="Alert notifiers: webhook, syslog (CEF) and e-mail; test them; dead letters.",
    invoke_without_command=True,
)
add = typer.Typer(help="Add a notifier.", no_args_is_help=True)
dead = typer.Typer(help="Alert events a notifier could not deliver.", invoke_without_command=True)
notifiers.add_typer(add, name="add")
notifiers.add_typer(dead, name="dead-letters")


def run_notifications(stage: NotifyStage) -> NotifyResult | None:
    """The sync loop's hook, after detection: deliver what is due to every notifier. A
    failure is shown and logged, never raised (the queue is in the store; the next pass
    resumes it). A loop keeps one ``stage`` for all its passes (it spaces out the outbox's
    pruning)."""
    try:
        result = stage.run_once()
    except OpenCASBError as exc:
        log.error("notify stage failed: %s", exc)
        show_problem(f"notifications: {exc}", meaning=exc.meaning, fix=exc.fix)
        return None
    if result.delivered or result.dead:
        dead_note = f", {result.dead} dead-lettered" if result.dead else ""
        console.print(f"notifications: {result.delivered} delivered{dead_note}")
    for name in result.broken:
        show_problem(
            f"notifier {name}: its stored settings do not load (see the log)",
            fix=f"remove it and add it again: opencasb notifiers remove {name}",
        )
    return result


# -- add -----------------------------------------------------------------------------------

_Name = Annotated[str, typer.Argument(metavar="NAME", help="A name for this notifier.")]
_MinSeverity = Annotated[
    str, typer.Option(help="Send alerts of this severity and above: informational .. high.")
]
_Events = Annotated[
    list[str] | None,
    typer.Option("--event", help="Only these events (repeat): opened extended closed commented."),
]
_MaxAttempts = Annotated[int, typer.Option(help="Dead-letter an event after this many attempts.")]
_MaxHours = Annotated[float, typer.Option(help="... or this many hours after its first attempt.")]
_Timeout = Annotated[float, typer.Option(help="Seconds to wait for the receiver.")]
_Replay = Annotated[
    bool, typer.Option("--replay", help="Also send the stored alert events (30 days).")
]
_CaFile = Annotated[Path | None, typer.Option(help="CA certificate (PEM) to trust.")]


def _common(
    min_severity: str, events: list[str] | None, max_attempts: int, max_hours: float, timeout: float
) -> dict[str, Any]:
    """The settings every kind shares, by config field."""
    return {
        "min_severity": min_severity,
        "events": events or None,
        "max_attempts": max_attempts,
        "max_hours": max_hours,
        "timeout": timeout,
    }


@dataclass(frozen=True, slots=True)
class _SecretSpec:
    """The one secret a kind of notifier may have: its key among the stored secrets, its
    name in prompts and errors, and how long it must be."""

    field: str
    label: str
    min_length: int = 0
    too_short_fix: str = ""


_SECRETS = {
    "webhook": _SecretSpec(
        "signing_key",
        "webhook signing key",
        min_length=16,
        too_short_fix="use a long random key, e.g. --generate-key",
    ),
    "email": _SecretSpec("password", "SMTP password"),
}


@dataclass(frozen=True, slots=True)
class _SecretSource:
    """Where ``notifiers add`` takes the secret from: a variable, a file (or a hidden
    prompt), or ``generate`` a random one to print once."""

    env: str
    file: Path | None
    generate: bool = False


def _add(
    ctx: typer.Context,
    kind: str,
    name: str,
    settings: dict[str, Any],
    *,
    replay: bool,
    secret: _SecretSource | None = None,
) -> None:
    """Every ``notifiers add KIND``: check ``settings`` (the command's options by config
    field, None for unset), then read the kind's secret from ``secret`` (none without one),
    then store the notifier. Bad settings are reported before any secret is asked for.

    Raises (shown by handle_errors): ConfigError for bad settings, a missing or short secret,
    or a taken name."""
    from opencasb.notify.config import parse_config

    state: Ctx = ctx.obj
    with handle_errors():
        ca_file = settings.pop("ca_file", None)
        settings["ca_file"] = str(ca_file.resolve()) if ca_file else None
        config = parse_config(kind, settings).model_dump(mode="json")
        secrets: dict[str, str] = {}
        if secret is not None:
            spec = _SECRETS[kind]
            secrets[spec.field] = _secret_value(spec, secret)
        rec = state.store.notifications.add(kind, name, config, secrets, replay=replay)
        console.print(
            f"added {kind} notifier [bold]{markup(rec.name)}[/]; "
            f"try it: opencasb notifiers test {markup(rec.name)}"
        )
        if secret is not None and secret.generate:
            # Shown once, on stdout only, for the receiver's configuration; never logged.
            console.print(f"{spec.label} (configure the receiver with it): {secrets[spec.field]}")


def _secret_value(spec: _SecretSpec, source: _SecretSource) -> str:
    if source.generate:
        return _random.token_urlsafe(32)
    value = read_secret(spec.label, source.env, source.file)
    if len(value) < spec.min_length:
        raise ConfigError(
            f"the {spec.label} is shorter than {spec.min_length} characters",
            fix=spec.too_short_fix,
        )
    return value


@add.command("webhook")
def add_webhook(
    ctx: typer.Context,
    name: _Name,
    url: Annotated[str, typer.Option(help="Where to POST each alert event (JSON).")],
    key_env: Annotated[
        str, typer.Option(help="Environment variable holding the HMAC signing key.")
    ] = "OPENCASB_WEBHOOK_KEY",
    key_file: Annotated[Path | None, typer.Option(help="File holding the signing key.")] = None,
    generate_key: Annotated[
        bool,
        typer.Option("--generate-key", help="Make a random signing key and print it once."),
    ] = False,
    ca_file: _CaFile = None,
    min_severity: _MinSeverity = "informational",
    event: _Events = None,
    max_attempts: _MaxAttempts = 10,
    max_hours: _MaxHours = 24.0,
    timeout: _Timeout = 10.0,
    replay: _Replay = False,
) -> None:
    """Sign each POST with HMAC-SHA256: header X-OpenCASB-Signature: t=<unix time>,v1=<hex
    HMAC(key, "<t>." + body)>. Idempotency-Key carries the event id."""
    settings = _common(min_severity, event, max_attempts, max_hours, timeout)
    settings.update(url=url, ca_file=ca_file)
    source = _SecretSource(key_env, key_file, generate=generate_key)
    _add(ctx, "webhook", name, settings, replay=replay, secret=source)


@add.command("syslog")
def add_syslog(
    ctx: typer.Context,
    name: _Name,
    host: Annotated[str, typer.Option(help="The syslog receiver (SIEM collector).")],
    port: Annotated[int, typer.Option(help="Its port (514; 6514 for TLS).")] = 514,
    protocol: Annotated[str, typer.Option(help="udp, tcp or tls.")] = "udp",
    framing: Annotated[
        str, typer.Option(help="TCP/TLS framing: octet-counting (RFC 6587) or newline.")
    ] = "octet-counting",
    ca_file: _CaFile = None,
    facility: Annotated[int, typer.Option(help="Syslog facility number (16 = local0).")] = 16,
    hostname: Annotated[str | None, typer.Option(help="HOSTNAME in the header.")] = None,
    min_severity: _MinSeverity = "informational",
    event: _Events = None,
    max_attempts: _MaxAttempts = 10,
    max_hours: _MaxHours = 24.0,
    timeout: _Timeout = 10.0,
    replay: _Replay = False,
) -> None:
    """Send each alert event as CEF (the commercial product's field map) over syslog."""
    settings = _common(min_severity, event, max_attempts, max_hours, timeout)
    settings.update(host=host, port=port, protocol=protocol, framing=framing, ca_file=ca_file)
    settings.update(facility=facility, hostname=hostname)
    _add(ctx, "syslog", name, settings, replay=replay)


@add.command("email")
def add_email(
    ctx: typer.Context,
    name: _Name,
    host: Annotated[str, typer.Option(help="The SMTP server.")],
    sender: Annotated[str, typer.Option("--from", help="The From address.")],
    to: Annotated[list[str], typer.Option("--to", help="A recipient (repeat for more).")],
    port: Annotated[int, typer.Option(help="587 for starttls, 465 for tls, 25 plain.")] = 587,
    security: Annotated[str, typer.Option(help="starttls, tls or plain.")] = "starttls",
    username: Annotated[str | None, typer.Option(help="SMTP login name.")] = None,
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the SMTP password.")
    ] = "OPENCASB_SMTP_PASSWORD",
    password_file: Annotated[Path | None, typer.Option(help="File holding the password.")] = None,
    ca_file: _CaFile = None,
    min_severity: _MinSeverity = "informational",
    event: _Events = None,
    max_attempts: _MaxAttempts = 10,
    max_hours: _MaxHours = 24.0,
    timeout: _Timeout = 10.0,
    replay: _Replay = False,
) -> None:
    """Mail each alert event as plain text: what happened, the entities, the evidence."""
    settings = _common(min_severity, event, max_attempts, max_hours, timeout)
    settings.update(host=host, port=port, security=security, username=username)
    settings.update(sender=sender, recipients=to, ca_file=ca_file)
    # Without a login name there is nothing to log in with: no password is asked for.
    source = _SecretSource(password_env, password_file) if username else None
    _add(ctx, "email", name, settings, replay=replay, secret=source)


# -- list, test, enable, disable, remove ----------------------------------------------------


@notifiers.callback()
def list_notifiers(ctx: typer.Context) -> None:
    """The notifiers: where they send, queued and dead-lettered events, the last error."""
    if ctx.invoked_subcommand is not None:
        return
    _list(ctx.obj)


@notifiers.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """The notifiers: where they send, queued and dead-lettered events, the last error."""
    _list(ctx.obj)


def _list(state: Ctx) -> None:
    from opencasb.notify.config import destination

    with handle_errors():
        notes = state.store.notifications
        rows = notes.all()
        if not rows:
            console.print("no notifiers; add one: opencasb notifiers add webhook|syslog|email")
            return
        counts = notes.queue_counts()
        table = Table()
        for col in ("name", "kind", "to", "enabled", "delivered", "queued", "dead", "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            c = counts.get(r.id, {"pending": 0, "dead": 0})
            cells = (
                r.name,
                r.kind,
                destination(r.kind, r.config),
                "yes" if r.enabled else "no",
                str(r.delivered),
                str(c["pending"]),
                str(c["dead"]),
                clip(r.last_error or "-"),
            )
            table.add_row(*(Text(x) for x in cells))
        console.print(table)


@notifiers.command("test")
def test(ctx: typer.Context, name: _Name) -> None:
    """Send a test event now and show the receiver's answer."""
    from opencasb.clock import SystemClock
    from opencasb.notify.payload import test_event
    from opencasb.notify.senders import make_sender

    state: Ctx = ctx.obj
    with handle_errors():
        notes = state.store.notifications
        rec = notes.get(name)
        clock = SystemClock()
        sender = make_sender(rec, notes.secrets(rec), clock)
        try:
            answer = sender.send(test_event(clock.now()))
        finally:
            sender.close()
        console.print(f"[green]✓[/] {markup(rec.name)}: {markup(answer)}")


def _set_enabled(state: Ctx, name: str, enabled: bool) -> None:
    with handle_errors():
        state.store.notifications.set_enabled(name, enabled)
        console.print(f"{'enabled' if enabled else 'disabled'} {markup(name)}")


@notifiers.command("enable")
def enable(ctx: typer.Context, name: _Name) -> None:
    """Send again; events that came while it was disabled are sent too."""
    _set_enabled(ctx.obj, name, True)


@notifiers.command("disable")
def disable(ctx: typer.Context, name: _Name) -> None:
    """Stop sending (events queue up until it is enabled again)."""
    _set_enabled(ctx.obj, name, False)


@notifiers.command("remove")
def remove(ctx: typer.Context, name: _Name) -> None:
    """Delete a notifier with its queue and dead letters."""
    state: Ctx = ctx.obj
    with handle_errors():
        state.store.notifications.remove(name)
        console.print(f"removed {markup(name)}")


# -- dead letters --------------------------------------------------------------------------


@dead.callback()
def dead_letters(
    ctx: typer.Context,
    notifier: Annotated[str | None, typer.Option(help="Only this notifier's.")] = None,
) -> None:
    """List the events a notifier gave up on, with the last error."""
    if ctx.invoked_subcommand is not None:
        return
    state: Ctx = ctx.obj
    with handle_errors():
        notes = state.store.notifications
        nid = notes.get(notifier).id if notifier else None
        rows = notes.dead_letters(nid)
        if not rows:
            console.print("no dead letters")
            return
        table = Table()
        for col in ("id", "notifier", "event", "alert", "attempts", "last attempt", "last error"):
            table.add_column(col, overflow="fold")
        for d in rows:
            cells = (
                str(d.id),
                d.notifier,
                f"{d.event.kind} #{d.event.id}",
                clip(str(d.event.alert.get("title") or d.event.alert_id)),
                str(d.attempts),
                d.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S"),
                clip(d.last_error or "-"),
            )
            table.add_row(*(Text(x) for x in cells))
        console.print(table)
        err_console.print("send again: opencasb notifiers dead-letters retry ID... | --all")


@dead.command("retry")
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(metavar="ID", help="Dead letter ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    notifier: Annotated[str | None, typer.Option(help="Only this notifier's.")] = None,
) -> None:
    """Queue dead letters again; the next `opencasb sync` pass (or `notifiers deliver`)
    sends them, before newer events."""
    state: Ctx = ctx.obj
    with handle_errors():
        if not ids and not all_:
            raise ConfigError("name the dead letters to retry", fix="give their ids, or --all")
        notes = state.store.notifications
        nid = notes.get(notifier).id if notifier else None
        n = notes.retry_dead(notes.clock_now, ids=ids or (), notifier_id=nid)
        console.print(f"queued {n} dead letter(s) again")


@notifiers.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Deliver what is due now (what `opencasb sync` does after each detection pass)."""
    from opencasb.clock import SystemClock
    from opencasb.notify.stage import NotifyStage

    state: Ctx = ctx.obj
    with handle_errors():
        result = run_notifications(NotifyStage(state.store, SystemClock()))
        if result is None:
            raise typer.Exit(1)
        console.print(
            f"{result.queued} queued, {result.delivered} delivered, {result.failed} failed "
            f"(retried later), {result.dead} dead-lettered"
        )
        if result.busy:
            err_console.print(f"busy in another process: {markup(', '.join(result.busy))}")


def register(app: typer.Typer) -> None:
    app.add_typer(notifiers, name="notifiers")
