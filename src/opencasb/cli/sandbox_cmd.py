"""``opencasb sandbox`` (the emulated Okta org and Office 365 tenant over HTTPS) and
``opencasb demo``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from opencasb.cli.context import Ctx, console, handle_errors
from opencasb.errors import ConfigError

__all__ = ["register"]

DEMO_DIR = Path("demo-data")


def _faults(error_rate: float, burst_every: int, late_fraction: float) -> object:
    from opencasb.sandbox.okta import Faults

    return Faults(
        error_500_rate=error_rate / 2,
        error_503_rate=error_rate / 2,
        burst_429_every=burst_every,
        burst_429_length=3 if burst_every else 0,
        late_fraction=late_fraction,
        late_max_minutes=30 if late_fraction else 0,
        latency_mode="real",
    )


def _wait_for_stop() -> threading.Event:
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
    burst_429_every: Annotated[int, typer.Option(help="A 429 burst every N requests.")] = 0,
    late_fraction: Annotated[float, typer.Option(help="Fraction of events stored late.")] = 0.0,
    trickle: Annotated[float, typer.Option(help="Seconds between live events (0: none).")] = 5.0,
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
    from opencasb.sandbox.okta import Faults, RateLimits
    from opencasb.sandbox.okta_sandbox import LiveTrickle, build_okta_sandbox
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import ensure_sandbox_tls

    state: Ctx = ctx.obj
    with handle_errors():
        tls = ensure_sandbox_tls(state.settings.data_dir / "sandbox-tls")
        console.print(f"generating the org: {size:,} people, {days} days of System Log ...")
        faults = _faults(error_rate, burst_429_every, late_fraction)
        assert isinstance(faults, Faults)
        sb = build_okta_sandbox(
            seed=seed, size=size, days=days, faults=faults, rate_limits=RateLimits(logs=logs_rate)
        )
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
            o365 = _serve_o365(state, tls, host, o365_port, size, seed, o365_days, o365_rate)
            console.print(
                f"Office 365 sandbox at [bold]{o365.url}[/] ({o365.records:,} records)\n"
                f"  credentials: {o365.info_path}\n"
                f"  connect: O365_CLIENT_SECRET=$(jq -r .client_secret {o365.info_path}) "
                f"opencasb connect office365 --tenant-id {o365.tenant_id} --client-id "
                f"{o365.client_id} --endpoint {o365.url} --ca-bundle {tls.ca_cert}",
                soft_wrap=True,
            )
        stop = _wait_for_stop()
        live = LiveTrickle(sb, every=trickle).start() if trickle > 0 else None
        o365_live = o365.trickle(trickle) if o365 and trickle > 0 else None
        try:
            stop.wait()
        finally:
            if live:
                live.stop()
            if o365_live:
                o365_live.stop()
            if o365:
                o365.server.stop()
            server.stop()
        console.print("sandbox stopped")


@dataclass
class _ServedO365:
    sandbox: Any
    server: Any
    url: str
    tenant_id: str
    client_id: str
    records: int
    info_path: Path

    def trickle(self, every: float) -> Any:
        from opencasb.sandbox.office365_sandbox import O365LiveTrickle

        return O365LiveTrickle(self.sandbox, every=every).start()


def _write_private_json(path: Path, info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh, indent=2)


def _serve_o365(
    state: Ctx, tls: Any, host: str, port: int, size: int, seed: int, days: int, rate: int
) -> _ServedO365:
    from opencasb.sandbox.office365.ratelimit import Limits
    from opencasb.sandbox.office365_sandbox import build_o365_sandbox
    from opencasb.sandbox.server import SandboxServer

    console.print(f"generating the Office 365 tenant: {days} days of audit records ...")
    limits = Limits(activity_per_minute=rate, shared_pool_per_minute=rate)
    sb = build_o365_sandbox(seed=seed, size=size, days=days, limits=limits)
    try:
        server = SandboxServer(sb.app, tls, host=host, port=port).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the Office 365 emulator on {host}:{port}: {exc.strerror or exc}",
            fix="another program holds the port; pass --o365-port 0 (any free port)",
        ) from None
    creds = sb.credentials
    path = state.settings.data_dir / "sandbox-office365.json"
    _write_private_json(
        path, {"endpoint": server.base_url, "ca_bundle": str(tls.ca_cert), **asdict(creds)}
    )
    records = sum(len(b.records) for b in sb.state.blobs.all_blobs())
    return _ServedO365(sb, server, server.base_url, creds.tenant_id, creds.client_id, records, path)


def demo(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(help="People in the synthetic org.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic org.")] = 1,
    days: Annotated[int, typer.Option(help="Days of history to backfill.")] = 30,
    data_dir: Annotated[Path, typer.Option(help="Where the demo keeps its store.")] = DEMO_DIR,
    reset: Annotated[bool, typer.Option("--reset", help="Start from an empty store.")] = False,
    port: Annotated[int, typer.Option(help="Port of the Okta emulator (0: any).")] = 9443,
    poll: Annotated[int, typer.Option(help="Seconds between polls after the backfill.")] = 15,
    exit_when_ready: Annotated[
        bool, typer.Option("--exit-when-ready", help="Stop once the backfill is done.")
    ] = False,
) -> None:
    """Run the whole product on this laptop: emulated Okta over HTTPS, backfill, live polling."""
    from opencasb.cli.demo import run_demo

    state: Ctx = ctx.obj
    with handle_errors():
        if reset and data_dir.exists():
            shutil.rmtree(data_dir)
        state.data_dir = data_dir
        state.database_url = f"sqlite:///{data_dir.resolve() / 'opencasb.db'}"
        t0 = time.monotonic()
        run_demo(
            state,
            size=size,
            seed=seed,
            days=days,
            port=port,
            poll=poll,
            started=t0,
            stop=_wait_for_stop(),
            exit_when_ready=exit_when_ready,
        )


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
    app.command("demo")(demo)
