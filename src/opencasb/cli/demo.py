"""The demo: emulated Okta over HTTPS, connected through the normal path, backfilled, polled."""

from __future__ import annotations

import threading
import time

from rich.markup import escape

from opencasb.apps.okta.connector import OktaConnector
from opencasb.cli.context import Ctx, console
from opencasb.cli.sync_cmd import backfill_progress, report
from opencasb.clock import SystemClock
from opencasb.errors import ConfigError, ConnectorError, NotFound
from opencasb.ingest.runner import IngestRunner
from opencasb.ingest.scheduler import Scheduler

__all__ = ["run_demo"]

INSTANCE = "okta-demo"


def run_demo(
    state: Ctx,
    *,
    size: int,
    seed: int,
    days: int,
    port: int,
    poll: int,
    started: float,
    stop: threading.Event,
    exit_when_ready: bool,
) -> None:
    """Start the sandbox, connect, backfill with progress bars, then poll until ``stop``."""
    from opencasb.sandbox.okta_sandbox import LiveTrickle, build_okta_sandbox
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import ensure_sandbox_tls

    settings = state.settings
    tls = ensure_sandbox_tls(settings.data_dir / "sandbox-tls")
    with console.status(f"generating a synthetic org of {size:,} people, {days} days of Okta"):
        sb = build_okta_sandbox(seed=seed, size=size, days=days)
    try:
        server = SandboxServer(sb.app, tls, port=port).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the Okta emulator on port {port}: {exc.strerror or exc}",
            fix="another program holds the port; pass --port 0 (any free port) or another port",
        ) from None
    trickle = LiveTrickle(sb, every=5.0).start()
    console.print(
        f"[green]✓[/] Okta emulator at {server.base_url} "
        f"({len(sb.state.users):,} users, {len(sb.state.log):,} events)"
    )
    try:
        _connect(state, server.base_url, str(tls.ca_cert), sb.credentials.token, days, poll)
        store = state.store
        clock = SystemClock()
        progress, bars = backfill_progress("backfill ")
        runner = IngestRunner(store, clock=clock, on_page=bars)
        with progress:
            result = runner.run_once(INSTANCE)
        report(result)
        if result.error is not None:
            raise result.error
        elapsed = time.monotonic() - started
        total = store.count_activities()
        flag = f"--data-dir {settings.data_dir}"
        console.print(
            f"\n[bold green]ready[/] in {elapsed:.0f} s: {total:,} activities stored.\n"
            f"Try, in another terminal:\n"
            f"  .venv/bin/opencasb {flag} apps\n"
            f"  .venv/bin/opencasb {flag} activities --outcome failure\n"
            f"  .venv/bin/opencasb {flag} activities --type user.session.start --country "
            f"'United States' --format csv\n"
            f"  .venv/bin/opencasb {flag} activities --text suspend\n",
            soft_wrap=True,  # commands must stay copy-pasteable, not wrapped mid-line
        )
        if exit_when_ready:
            return
        console.print(f"polling every {poll} s for new events; Ctrl-C to stop")
        scheduler = Scheduler(runner, clock, stop=stop, on_result=_quiet_report)
        worker = threading.Thread(target=scheduler.run_forever, name="scheduler", daemon=True)
        worker.start()
        stop.wait()
        worker.join(timeout=10)
    finally:
        trickle.stop()
        server.stop()
        console.print("demo stopped")


def _quiet_report(result: object) -> None:
    from opencasb.ingest.runner import RunResult

    if isinstance(result, RunResult) and (result.inserted or result.error):
        report(result)


def _connect(state: Ctx, url: str, ca: str, token: str, days: int, poll: int) -> None:
    """Connect through the same validation and test as `opencasb connect okta`."""
    store = state.store
    config = OktaConnector.validate_config(
        {"domain": url, "auth": "ssws", "backfill_days": str(days), "ca_bundle": ca}
    )
    connector = OktaConnector(config, {"token": token})
    try:
        check = connector.test()
        feed = connector.feeds()[0]
    finally:
        connector.close()
    if not check.ok:
        raise ConnectorError(check.summary, fix=check.error.fix if check.error else "")
    console.print(f"[green]✓[/] {escape(check.summary)}")
    try:
        rec = store.get_instance(INSTANCE)
    except NotFound:
        store.add_instance("okta", INSTANCE, config, {"token": token}, interval_seconds=poll)
        return
    if rec.config.get("domain") != config["domain"]:
        # The emulator moved (another port): its cursors mean nothing there. Start over from
        # the backfill start; every event already stored is dropped as a duplicate.
        store.update_instance(INSTANCE, config=config, secrets={"token": token})
        store.save_page(rec.id, feed.name, [], feed.initial_cursor(SystemClock().now()))
