"""A whole Okta sandbox: the synthetic org, its System Log, credentials and a live trickle.

This joins the synthetic-organisation generator to the emulator. The same ``(seed, size,
anchor)`` always gives the same org and the same events.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from opencasb.clock import Clock, SystemClock
from opencasb.sandbox.okta import (
    FaultInjector,
    Faults,
    OktaSeed,
    OktaState,
    RateLimits,
    create_okta_app,
    generate_rsa_keypair,
)
from opencasb.sandbox.okta.generate import generate_events, live_events, okta_seed_parts
from opencasb.sandbox.org import Organisation, build_org
from opencasb.sandbox.request_log import RequestLog
from opencasb.sandbox.scenarios import ScenarioPlan
from opencasb.sandbox.ticker import Ticker

__all__ = ["LiveTrickle", "OktaSandbox", "SandboxCredentials", "build_okta_sandbox"]

OAUTH_CLIENT_ID = "0oasandboxopencasb01"


@dataclass(frozen=True)
class SandboxCredentials:
    """What the emulator issued: SSWS tokens (super admin, read-only) and an OAuth client."""

    token: str
    read_only_token: str
    admin_user_id: str
    oauth_client_id: str
    oauth_private_key_pem: str


@dataclass
class OktaSandbox:
    org: Organisation
    state: OktaState
    app: Starlette
    credentials: SandboxCredentials
    history_end: datetime


def _token(seed: int, label: str) -> str:
    # Okta tokens are 42 characters starting with "00"; ours are derived from the seed so a
    # re-run of the same sandbox accepts the token a user already saved.
    digest = hashlib.sha256(f"opencasb-sandbox:{seed}:{label}".encode()).hexdigest()
    return "00" + digest[:40]


def build_okta_sandbox(
    *,
    seed: int = 1,
    size: int = 2000,
    days: int = 65,
    clock: Clock | None = None,
    anchor: datetime | None = None,
    faults: Faults | None = None,
    rate_limits: RateLimits | None = None,
    oauth_key_pem: tuple[str, str] | None = None,
    scenarios: ScenarioPlan | None = None,
    request_log: RequestLog | None = None,
) -> OktaSandbox:
    """Build the org, load ``days`` of history ending at ``anchor`` (default: now), and
    register credentials. The same arguments give the same org, events, faults and
    credentials; ``faults.late_fraction`` applies to the history as well as to later events.

    Args:
        oauth_key_pem: (private, public) PEM pair for the OAuth client; generated if absent
            (RSA key generation is the slow part, so tests pass one in).
        scenarios: labelled scenarios whose Okta events (those published in the window) are
            merged into the history in published order, served like generated ones.
        request_log: receives one entry per answered request.
    """
    clock = clock or SystemClock()
    end = anchor or clock.now()
    org = build_org(seed, size)
    users, groups, memberships, roles = okta_seed_parts(org)
    start = end - timedelta(days=days)
    events = generate_events(org, start, end)
    if scenarios is not None:
        events = heapq.merge(events, scenarios.okta_between(start, end), key=_published)
    seed_data = OktaSeed(
        users=users,
        groups=groups,
        memberships=memberships,
        admin_roles=roles,
        events=events,
    )
    injector = FaultInjector(faults)
    state = OktaState.from_seed(seed_data, clock=clock, faults=injector, rng_seed=seed)
    admin = next(
        (uid for uid, r in sorted(roles.items()) if "SUPER_ADMIN" in r and _active(state, uid)),
        users[0]["id"],
    )
    token = state.add_api_token(_token(seed, "super"), owner_user_id=admin).secret
    read_only = state.add_api_token(
        _token(seed, "read"), owner_user_id=admin, permission="read_only", name="read-only"
    ).secret
    private_pem, public_pem = oauth_key_pem or generate_rsa_keypair()
    state.add_oauth_client(
        OAUTH_CLIENT_ID,
        public_pem,
        ["okta.logs.read", "okta.users.read", "okta.groups.read", "okta.users.manage"],
    )
    app = create_okta_app(
        state, clock=clock, rate_limits=rate_limits, seed=seed, request_log=request_log
    )
    creds = SandboxCredentials(token, read_only, admin, OAUTH_CLIENT_ID, private_pem)
    return OktaSandbox(org, state, app, creds, end)


def _published(item: tuple[dict[str, Any], datetime]) -> str:
    published: str = item[0]["published"]
    return published


def _active(state: OktaState, user_id: str) -> bool:
    user = state.users.get(user_id)
    return bool(user and user.get("status") == "ACTIVE")


class LiveTrickle:
    """Appends the org's everyday events as time passes, so polling has something to find.

    ``step()`` adds the events published since the last step; ``start()`` runs it every
    ``every`` seconds in a daemon thread until ``stop()``.
    """

    def __init__(self, sandbox: OktaSandbox, *, every: float = 5.0) -> None:
        self._sandbox = sandbox
        self._last = sandbox.history_end
        self._ticker = Ticker(self.step, every, "okta-trickle")
        self.appended = 0

    def step(self) -> int:
        now = self._sandbox.state.clock.now()
        if now <= self._last:
            return 0
        n = 0
        for event, persisted in live_events(self._sandbox.org, self._last, now):
            self._sandbox.state.append_event(event, persisted)
            n += 1
        self._last = now
        self.appended += n
        return n

    def start(self) -> LiveTrickle:
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop()
