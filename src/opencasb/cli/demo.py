"""The demo: emulated Okta and Office 365 over HTTPS, connected through the normal path,
backfilled, polled."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from opencasb.apps.office365.connector import Office365Connector
from opencasb.apps.okta.connector import OktaConnector
from opencasb.cli.alerts_cmd import run_detection
from opencasb.cli.context import Ctx, console
from opencasb.cli.notifiers_cmd import run_notifications
from opencasb.cli.sandbox_cmd import print_ground_truth
from opencasb.cli.serve_o365 import serve_o365
from opencasb.cli.sync_cmd import backfill_progress, report
from opencasb.cli.terminal import markup
from opencasb.clock import SystemClock
from opencasb.config import Settings
from opencasb.enrich.stored import EnricherSource
from opencasb.errors import ConfigError, ConnectorError, NotFound
from opencasb.ingest.connect import connect_instance
from opencasb.ingest.runner import IngestRunner, RunResult
from opencasb.ingest.scheduler import Scheduler
from opencasb.notify.stage import NotifyStage
from opencasb.store import PageWrite, Store
from opencasb.web.server import PortalServer

__all__ = ["run_demo"]

DEMO_SIGMA_DIR = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "sigma"
"""The demo's own Sigma rules (package data), used when ``sigma_rules_dir`` is not set."""
INSTANCE = "okta-demo"
O365_INSTANCE = "office365-demo"
# The demo tenant's Management Activity budget. A real tenant allows about 2,000 requests a
# minute, which makes a week's backfill take minutes; the demo must be ready in under two.
O365_DEMO_RATE = 60_000
O365_DAYS = 8  # days of Office 365 audit history the demo serves


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
    portal_port: int = 8443,
) -> None:
    """Start the sandbox, connect, serve the portal, backfill with progress bars, then poll
    until ``stop``."""
    from opencasb.apps.office365.connector import MAX_BACKFILL_DAYS
    from opencasb.sandbox.okta_sandbox import LiveTrickle, build_okta_sandbox
    from opencasb.sandbox.scenarios import sandbox_plan
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import ensure_sandbox_tls

    settings = state.settings
    if settings.sigma_rules_dir is None:  # the demo's own Sigma rules, unless the user has some
        settings = settings.model_copy(update={"sigma_rules_dir": DEMO_SIGMA_DIR})
    tls = ensure_sandbox_tls(settings.data_dir / "sandbox-tls")
    anchor = SystemClock().now()
    with console.status(f"generating a synthetic org of {size:,} people, {days} days of Okta"):
        # Labelled scenarios only where both backfills reach: Office 365 keeps 7 days, and a
        # scenario's earliest record may be an hour after the window's start.
        plan = sandbox_plan(seed, size, anchor, min(days, MAX_BACKFILL_DAYS))
        sb = build_okta_sandbox(seed=seed, size=size, days=days, anchor=anchor, scenarios=plan)
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
    o365 = serve_o365(
        tls, host="127.0.0.1", port=port + 1 if port else 0, size=size, seed=seed, days=O365_DAYS,
        rate=O365_DEMO_RATE, trickle_every=5.0, port_option="--port", anchor=anchor, scenarios=plan,
    )  # fmt: skip
    console.print(
        f"[green]✓[/] Office 365 emulator at {o365.url} "
        f"({len(o365.sandbox.state.users):,} users, {o365.records():,} audit records)"
    )
    print_ground_truth(settings.data_dir, plan)
    portal = None
    try:
        _connect(state, server.base_url, str(tls.ca_cert), sb.credentials.token, days, poll)
        _connect_o365(state, o365.url, str(tls.ca_cert), o365.sandbox.credentials, poll)
        portal = _serve_portal(state, portal_port)
        store = state.store
        clock = SystemClock()
        # Before the backfill: ingest enriches with the demo's IP lists as it stores (the
        # store's enricher follows the stored tags).
        enrichers = _demo_policies(store, settings)
        progress, bars = backfill_progress("backfill ")
        runner = IngestRunner(store, clock=clock, on_page=bars)
        with progress:
            results = [runner.run_once(INSTANCE), runner.run_once(O365_INSTANCE)]
        for result in results:
            report(result)
            if result.error is not None:
                raise result.error
        raised = run_detection(store, clock, enricher=enrichers, settings=settings)
        notify = NotifyStage(store, clock)  # one for every pass (it spaces out pruning)
        run_notifications(notify)
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
            f"  .venv/bin/opencasb {flag} activities --text suspend\n"
            f"  .venv/bin/opencasb {flag} activities --app office365 --type FileDownloaded\n"
            f"  .venv/bin/opencasb {flag} alerts   ({raised:,} raised by the policy templates, "
            f"anomaly detections and Sigma rules)\n"
            f"  .venv/bin/opencasb sigma list {settings.sigma_rules_dir}\n",
            soft_wrap=True,  # commands must stay copy-pasteable, not wrapped mid-line
        )
        if exit_when_ready:
            return
        console.print(f"polling every {poll} s for new events; Ctrl-C to stop")

        def _after(result: RunResult) -> None:
            _quiet_report(result)
            if result.inserted:
                run_detection(store, clock, enricher=enrichers, settings=settings)
            run_notifications(notify)

        scheduler = Scheduler(runner, clock, stop=stop, on_result=_after)
        worker = threading.Thread(target=scheduler.run_forever, name="scheduler", daemon=True)
        worker.start()
        stop.wait()
        worker.join(timeout=10)
    finally:
        if portal is not None:
            portal.stop()
        trickle.stop()
        o365.stop()
        server.stop()
        console.print("demo stopped")


def _demo_policies(store: Store, settings: Settings) -> EnricherSource:
    """Enable the demo's policy set (when no policy is stored yet; see
    :mod:`opencasb.sandbox.demo_policies`) and store the sandbox's own Tor/VPN/corporate
    lists as IP tags (source ``demo``, on the first run); the enricher follows the stored
    tags, so a change made in the portal or with ``opencasb iptags`` counts from the next
    pass."""
    from opencasb.detect.stage import store_policy
    from opencasb.sandbox.demo_lists import store_demo_lists
    from opencasb.sandbox.demo_policies import demo_policies

    if not store.detection.list_policies():
        for policy in demo_policies():
            store_policy(store, policy)
    store_demo_lists(store)
    return EnricherSource(store, settings)


def _quiet_report(result: object) -> None:
    from opencasb.ingest.runner import RunResult

    if isinstance(result, RunResult) and (result.inserted or result.error):
        report(result)


def _exists(store: Store, name: str) -> bool:
    try:
        store.get_instance(name)
    except NotFound:
        return False
    return True


def _serve_portal(state: Ctx, port: int) -> PortalServer:
    """Serve the portal on loopback (another port if ``port`` is busy) and print where, with
    the admin's credentials: made on first run, a new password on every later run (this is
    the demo's own store)."""
    from opencasb.web.app import create_app
    from opencasb.web.auth.accounts import FIRST_ADMIN, ensure_first_admin, set_password
    from opencasb.web.auth.passwords import random_password
    from opencasb.web.context import WebContext

    ctx = WebContext(store=state.store, settings=state.settings)
    created = ensure_first_admin(ctx.store, ctx.password_hasher)
    if created is not None:
        user, password = created
    else:
        user, password = FIRST_ADMIN, random_password()
        set_password(ctx.store, ctx.password_hasher, user, password)
    app = create_app(ctx)
    try:
        portal = PortalServer(app, port=port).start()
    except OSError:
        portal = PortalServer(app, port=0).start()
        console.print(f"port {port} is busy: the portal takes another one")
    console.print(
        f"[green]✓[/] portal at [bold]{portal.url}[/]: sign in as [bold]{user}[/] with the "
        f"password [bold]{markup(password)}[/] (API docs at {portal.url}api/docs)"
    )
    return portal


def _connect(state: Ctx, url: str, ca: str, token: str, days: int, poll: int) -> None:
    """Connect through the same validation and test as `opencasb connect okta` (and the
    portal's dialog): :func:`opencasb.ingest.connect.connect_instance`."""
    store = state.store
    config = OktaConnector.validate_config(
        {"domain": url, "auth": "ssws", "backfill_days": str(days), "ca_bundle": ca}
    )
    if not _exists(store, INSTANCE):
        done = connect_instance(store, "okta", INSTANCE, config, {"token": token}, interval=poll)
        console.print(f"[green]✓[/] {markup(done.check.summary if done.check else '')}")
        return
    connector = OktaConnector(config, {"token": token})
    try:
        check = connector.test()
        feed = connector.feeds()[0]
    finally:
        connector.close()
    if not check.ok:
        raise ConnectorError(check.summary, fix=check.error.fix if check.error else "")
    console.print(f"[green]✓[/] {markup(check.summary)}")
    try:
        rec = store.get_instance(INSTANCE)
    except NotFound:
        store.add_instance("okta", INSTANCE, config, {"token": token}, interval_seconds=poll)
        return
    if rec.config.get("domain") != config["domain"]:
        # The emulator moved (another port): its cursors mean nothing there. Start over from
        # the backfill start; every event already stored is dropped as a duplicate.
        store.update_instance(INSTANCE, config=config, secrets={"token": token})
        cursor = feed.initial_cursor(SystemClock().now())
        store.save_pages([PageWrite.of(rec.id, feed.name, [], cursor)])


def _connect_o365(state: Ctx, url: str, ca: str, creds: Any, poll: int) -> None:
    """Connect through the same validation and test as `opencasb connect office365`."""
    config = Office365Connector.validate_config(
        {
            "tenant_id": creds.tenant_id,
            "client_id": creds.client_id,
            "endpoint": url,
            "ca_bundle": ca,
            "requests_per_minute": str(int(O365_DEMO_RATE * 0.95)),
        }
    )
    secrets = {"client_secret": creds.client_secret}
    store = state.store
    if not _exists(store, O365_INSTANCE):
        done = connect_instance(store, "office365", O365_INSTANCE, config, secrets, interval=poll)
        console.print(f"[green]✓[/] {markup(done.check.summary if done.check else '')}")
        return
    connector = Office365Connector(config, secrets)
    try:
        check = connector.test()
        feeds = connector.feeds()
    finally:
        connector.close()
    if not check.ok:
        raise ConnectorError(check.summary, fix=check.error.fix if check.error else "")
    console.print(f"[green]✓[/] {markup(check.summary)}")
    store = state.store
    try:
        rec = store.get_instance(O365_INSTANCE)
    except NotFound:
        store.add_instance("office365", O365_INSTANCE, config, secrets, interval_seconds=poll)
        return
    if rec.config.get("endpoint") != config["endpoint"]:
        # The emulator moved (another port): restart every feed from the backfill start.
        store.update_instance(O365_INSTANCE, config=config, secrets=secrets)
        now = SystemClock().now()
        store.save_pages([PageWrite.of(rec.id, f.name, [], f.initial_cursor(now)) for f in feeds])
