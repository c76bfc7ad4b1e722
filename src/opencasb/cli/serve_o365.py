"""Serve the synthetic Office 365 tenant over HTTPS, for `opencasb sandbox` and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from opencasb.cli.context import console
from opencasb.errors import ConfigError

if TYPE_CHECKING:
    from opencasb.clock import Clock
    from opencasb.sandbox.office365_sandbox import O365LiveTrickle, O365Sandbox
    from opencasb.sandbox.request_log import RequestLog
    from opencasb.sandbox.scenarios import ScenarioPlan
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import SandboxTLS

__all__ = ["ServedO365", "serve_o365"]


@dataclass
class ServedO365:
    """A served tenant and its live trickle (None when the trickle is off)."""

    sandbox: O365Sandbox
    server: SandboxServer
    trickle: O365LiveTrickle | None

    @property
    def url(self) -> str:
        return self.server.base_url

    def records(self) -> int:
        """Audit records published so far."""
        return sum(len(b.records) for b in self.sandbox.state.blobs.all_blobs())

    def stop(self) -> None:
        if self.trickle:
            self.trickle.stop()
        self.server.stop()


def serve_o365(
    tls: SandboxTLS,
    *,
    host: str,
    port: int,
    size: int,
    seed: int,
    days: int,
    rate: int,
    trickle_every: float,
    port_option: str,
    anchor: datetime | None = None,
    scenarios: ScenarioPlan | None = None,
    clock: Clock | None = None,
    request_log: RequestLog | None = None,
    late_fraction: float = 0.0,
) -> ServedO365:
    """Build the tenant (``days`` of audit, ``rate`` Management Activity requests a minute),
    serve it on ``host:port`` and start its trickle (unless ``trickle_every`` is 0). The
    history ends at ``anchor`` (default: now) and includes ``scenarios``' records; the
    emulator runs on ``clock`` (default: the system's) and logs to ``request_log``. A
    ``late_fraction`` of the records is published up to 6 hours later than usual.

    Raises:
        ConfigError: the port is taken; the fix names ``port_option``.
    """
    from opencasb.sandbox.office365 import Faults
    from opencasb.sandbox.office365.ratelimit import Limits
    from opencasb.sandbox.office365_sandbox import O365LiveTrickle, build_o365_sandbox
    from opencasb.sandbox.server import SandboxServer

    with console.status(f"generating the same people's Office 365 tenant ({days} days of audit)"):
        limits = Limits(activity_per_minute=rate, shared_pool_per_minute=rate)
        faults = (
            Faults(late_fraction=late_fraction, late_max_hours=6, seed=seed, latency_mode="real")
            if late_fraction > 0
            else None
        )
        sb = build_o365_sandbox(
            seed=seed, size=size, days=days, limits=limits, anchor=anchor, scenarios=scenarios,
            clock=clock, request_log=request_log, faults=faults,
        )  # fmt: skip
    try:
        server = SandboxServer(sb.app, tls, host=host, port=port).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the Office 365 emulator on {host}:{port}: {exc.strerror or exc}",
            fix=f"another program holds the port; pass {port_option} 0 (any free port)",
        ) from None
    trickle = O365LiveTrickle(sb, every=trickle_every).start() if trickle_every > 0 else None
    return ServedO365(sb, server, trickle)
