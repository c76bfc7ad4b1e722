"""``opencasb sandbox`` (the emulated Okta org and Office 365 tenant over HTTPS) and
``opencasb demo``."""

from __future__ import annotations

import json
import os
import signal
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opencasb.cli.context import Ctx, console, handle_errors
from opencasb.cli.serve_o365 import serve_o365
from opencasb.clock import utc
from opencasb.errors import ConfigError

if TYPE_CHECKING:
    from opencasb.sandbox.scenarios import ScenarioPlan

__all__ = ["DEMO_DIR", "print_ground_truth", "register", "wait_for_stop"]

DEMO_DIR = Path("demo-data")


def _faults(error_rate: float, burst_every: int, late_fraction: float, seed: int) -> object:
    from opencasb.sandbox.okta import Faults

    return Faults(
        error_500_rate=error_rate / 2,
        error_503_rate=error_rate / 2,
        burst_429_every=burst_every,
        late_fraction=late_fraction,
        late_max_minutes=30 if late_fraction else 0,
        latency_mode="real",
        seed=seed,
    )


def parse_anchor(text: str | None) -> datetime | None:
    """``--anchor``: an ISO 8601 time (``Z`` or an offset; naive is UTC), or None.

    Raises:
        ConfigError: not a time.
    """
    if text is None:
        return None
    try:
        return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise ConfigError(
            f"--anchor {text!r} is not an ISO 8601 time",
            fix="pass a time such as 2026-11-01T12:00:00Z",
        ) from None


def wait_for_stop() -> threading.Event:
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def sandbox(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Loopback address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 9443,
    size: Annotated[int, typer.Option(help="People in the synthetic org (50-20,000).")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic org.")] = 1,
    days: Annotated[int, typer.Option(help="Days of System Log history.")] = 65,
    logs_rate: Annotated[int, typer.Option(help="System Log requests per minute.")] = 120,
    error_rate: Annotated[float, typer.Option(help="Fraction of 5xx answers (faults).")] = 0.0,
    burst_429_every: Annotated[
        int,
        typer.Option(
            help="Every N requests to one endpoint, spend the rest of its rate-limit window "
            "(429 until the window resets)."
        ),
    ] = 0,
    late_fraction: Annotated[
        float,
        typer.Option(
            help="Fraction of System Log events stored up to 30 min late, and of Office 365 "
            "records published up to 6 h later than usual."
        ),
    ] = 0.0,
    trickle: Annotated[float, typer.Option(help="Seconds between live events (0: none).")] = 5.0,
    no_trickle: Annotated[
        bool, typer.Option("--no-trickle", help="No live events: only the history.")
    ] = False,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="ISO time the history ends at; the emulators' clocks start there "
            "(default: now). Same --anchor, --seed and --no-trickle: same data."
        ),
    ] = None,
    request_log: Annotated[
        Path | None,
        typer.Option(help="Write every answered request to this file as JSON lines."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the URL, CA and credentials to this JSON file.")
    ] = None,
    o365_port: Annotated[
        int, typer.Option(help="Port of the Office 365 emulator (0: any, -1: do not serve).")
    ] = 9444,
    o365_days: Annotated[int, typer.Option(help="Days of Office 365 audit history.")] = 8,
    o365_rate: Annotated[
        int, typer.Option(help="Management Activity API requests per minute.")
    ] = 2000,
) -> None:
    """Serve an emulated Okta org and the same people's Office 365 tenant over HTTPS on
    loopback until Ctrl-C."""
    from opencasb.clock import AnchoredClock, Clock, SystemClock
    from opencasb.sandbox.okta import Faults, RateLimits
    from opencasb.sandbox.okta_sandbox import LiveTrickle, build_okta_sandbox
    from opencasb.sandbox.request_log import RequestLog
    from opencasb.sandbox.scenarios import sandbox_plan
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import ensure_sandbox_tls

    state: Ctx = ctx.obj
    with handle_errors():
        pinned = parse_anchor(anchor)
        tls = ensure_sandbox_tls(state.settings.data_dir / "sandbox-tls")
        console.print(f"generating the org: {size:,} people, {days} days of System Log ...")
        faults = _faults(error_rate, burst_429_every, late_fraction, seed)
        assert isinstance(faults, Faults)
        # Pinned: the clock starts at the anchor and runs at real speed, so retention and
        # windows behave as they would at that time, and two runs see the same "now".
        clock: Clock = AnchoredClock(pinned) if pinned else SystemClock()
        end = pinned or clock.now()
        if no_trickle:
            trickle = 0.0
        requests = RequestLog.to_file(request_log) if request_log else None
        window = min(days, o365_days) if o365_port >= 0 else days
        plan = sandbox_plan(seed, size, end, window)
        sb = build_okta_sandbox(
            seed=seed, size=size, days=days, clock=clock, faults=faults,
            rate_limits=RateLimits(logs=logs_rate), anchor=end, scenarios=plan,
            request_log=requests,
        )  # fmt: skip
        try:
            server = SandboxServer(sb.app, tls, host=host, port=port).start()
        except OSError as exc:
            raise ConfigError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                fix="another program holds the port; pass --port 0 (any free port) or another",
            ) from None
        info = {
            "okta_url": server.base_url,
            "ca_bundle": str(tls.ca_cert),
            **asdict(sb.credentials),
        }
        path = out or state.settings.data_dir / "sandbox-okta.json"
        _write_private_json(path, info)
        console.print(f"Okta sandbox at [bold]{server.base_url}[/] ({len(sb.state.log):,} events)")
        console.print(f"  CA: {tls.ca_cert}\n  credentials: {path}")
        console.print(
            f"  connect: OKTA_API_TOKEN=$(jq -r .token {path}) opencasb connect okta "
            f"--domain {server.base_url} --ca-bundle {tls.ca_cert}",
            soft_wrap=True,  # commands must stay copy-pasteable, not wrapped mid-line
        )
        o365 = None
        if o365_port >= 0:
            o365 = serve_o365(
                tls, host=host, port=o365_port, size=size, seed=seed, days=o365_days,
                rate=o365_rate, trickle_every=trickle, port_option="--o365-port",
                anchor=end, scenarios=plan, clock=clock, request_log=requests,
                late_fraction=late_fraction,
            )  # fmt: skip
            creds = o365.sandbox.credentials
            o365_path = state.settings.data_dir / "sandbox-office365.json"
            _write_private_json(
                o365_path, {"endpoint": o365.url, "ca_bundle": str(tls.ca_cert), **asdict(creds)}
            )
            console.print(
                f"Office 365 sandbox at [bold]{o365.url}[/] ({o365.records():,} records)\n"
                f"  credentials: {o365_path}\n"
                f"  connect: O365_CLIENT_SECRET=$(jq -r .client_secret {o365_path}) "
                f"opencasb connect office365 --tenant-id {creds.tenant_id} --client-id "
                f"{creds.client_id} --endpoint {o365.url} --ca-bundle {tls.ca_cert}",
                soft_wrap=True,
            )
        print_ground_truth(state.settings.data_dir, plan)
        if requests is not None:
            console.print(f"  request log: {request_log}")
        stop = wait_for_stop()
        if isinstance(clock, AnchoredClock):
            clock.start()  # time runs from the anchor once both emulators serve
        live = LiveTrickle(sb, every=trickle).start() if trickle > 0 else None
        try:
            stop.wait()
        finally:
            if live:
                live.stop()
            if o365:
                o365.stop()
            server.stop()
            if requests is not None:
                requests.close()
        console.print("sandbox stopped")


def print_ground_truth(data_dir: Path, plan: ScenarioPlan | None) -> None:
    """Write the labelled scenarios' ``ground-truth.json`` into ``data_dir`` and say where
    (or say there are none: the window was too short)."""
    from opencasb.sandbox.scenarios import write_ground_truth

    if plan is None:
        console.print("  no labelled scenarios: the history is shorter than 4 days")
        return
    path = write_ground_truth(data_dir, plan)
    console.print(f"  ground truth: {path} ({len(plan.truth)} labelled scenarios)")


def _write_private_json(path: Path, info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh, indent=2)


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
