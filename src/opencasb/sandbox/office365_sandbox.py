"""A whole Office 365 sandbox: the synthetic org's tenant, its audit history, an app
registration to connect with, and a live trickle of new records.

This joins the synthetic-organisation generator to the emulator. The same ``(seed, size,
anchor)`` always gives the same tenant, directory and records, and the same credentials, so a
re-run accepts what a user saved.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from opencasb.clock import Clock, SystemClock
from opencasb.sandbox.office365 import (
    CONTENT_TYPES,
    GRAPH_RESOURCE,
    MANAGE_RESOURCE,
    AppCertificate,
    Faults,
    Limits,
    O365Seed,
    O365State,
    create_o365_app,
)
from opencasb.sandbox.office365.gen_ids import seed_guid
from opencasb.sandbox.office365.generate import (
    O365Tenant,
    RecordGenerator,
    graph_directory,
    tenant_for,
)
from opencasb.sandbox.org import Organisation, build_org
from opencasb.sandbox.request_log import RequestLog
from opencasb.sandbox.scenarios import ScenarioPlan
from opencasb.sandbox.ticker import Ticker

__all__ = ["O365LiveTrickle", "O365Sandbox", "O365SandboxCredentials", "build_o365_sandbox"]

APP_NAME = "OpenCASB"
ROLES = {
    MANAGE_RESOURCE: ["ActivityFeed.Read", "ActivityFeed.ReadDlp"],
    GRAPH_RESOURCE: ["User.Read.All", "Group.Read.All", "User.ReadWrite.All"],
}


@dataclass(frozen=True)
class O365SandboxCredentials:
    """What a connector needs: the tenant, the app registration's client id and secret, and
    (when the sandbox was given one) the certificate and its key."""

    tenant_id: str
    domain: str
    client_id: str
    client_secret: str
    certificate_pem: str | None = None
    private_key_pem: str | None = None
    thumbprint: str | None = None  # SHA-1, hex, as MSAL's client_credential wants it


@dataclass
class O365Sandbox:
    """The running pieces; ``memberships`` maps a group id to its members' user ids."""

    org: Organisation
    tenant: O365Tenant
    state: O365State
    app: Starlette
    credentials: O365SandboxCredentials
    history_end: datetime
    generator: RecordGenerator
    memberships: dict[str, list[str]]


def _secret(seed: int) -> str:
    # The shape of an Azure AD client secret value: 3 characters, "8Q~", 34 more.
    digest = hashlib.sha256(f"opencasb-o365:{seed}:secret".encode()).hexdigest()
    return f"{digest[:3]}8Q~{digest[3:37]}"


def build_o365_sandbox(
    *,
    seed: int = 1,
    size: int = 2000,
    days: int = 8,
    clock: Clock | None = None,
    anchor: datetime | None = None,
    faults: Faults | None = None,
    limits: Limits | None = None,
    certificate: AppCertificate | None = None,
    signing_key: rsa.RSAPrivateKey | None = None,
    scenarios: ScenarioPlan | None = None,
    request_log: RequestLog | None = None,
) -> O365Sandbox:
    """Build the org and its tenant, load the records published in the ``days`` before
    ``anchor`` (default: now), and register the app.

    Every content type is subscribed from the start, so a content listing over the last
    7 days returns the history. Records published after ``anchor`` are not loaded: an
    :class:`O365LiveTrickle` publishes them as the clock passes.

    Args:
        faults: per-request faults and publication timing; its ``late_fraction`` also
            publishes that share of the generated records up to ``late_max_hours`` late
            (the scenarios' records keep the times their plan gave them).
        certificate: also accept this certificate for the app (client assertion sign-in).
        signing_key: the emulator's token-signing key; generated if absent (RSA key
            generation is the slow part, so tests pass one in).
        scenarios: labelled scenarios whose records (those published in the window) are
            merged into the history in publication order, published like generated ones.
        request_log: receives one entry per answered request.
    """
    clock = clock or SystemClock()
    end = anchor or clock.now()
    org = build_org(seed, size)
    tenant = tenant_for(org)
    # Faults' late_fraction holds back a share of the generated records too (history and
    # trickle alike): their blobs appear hours after the events in them.
    gen = RecordGenerator(org, tenant, late=faults.late() if faults is not None else None)
    start = end - timedelta(days=days)
    records = gen.records(start, end)
    if scenarios is not None:
        records = heapq.merge(records, scenarios.o365_between(start, end), key=_published)
    users, groups, memberships = graph_directory(org, tenant, as_of=end, tt=gen.tt)
    data = O365Seed(
        tenant_id=tenant.tenant_id,
        domain=tenant.domain,
        users=users,
        groups=groups,
        records=records,
        subscriptions=CONTENT_TYPES,
        display_name=tenant.display_name,
        memberships=memberships,
    )
    state = O365State.from_seed(data, clock=clock, signing_key=signing_key, rng_seed=seed)
    client_id = seed_guid(seed, "client")
    secret = _secret(seed)
    state.register_app(
        client_id,
        roles=ROLES,
        secrets=[(secret, end + timedelta(days=730))],
        certificates=[certificate.certificate_pem] if certificate else [],
        name=APP_NAME,
    )
    app = create_o365_app(
        state, clock=clock, faults=faults, limits=limits, seed=seed, request_log=request_log
    )
    creds = O365SandboxCredentials(
        tenant_id=tenant.tenant_id,
        domain=tenant.domain,
        client_id=client_id,
        client_secret=secret,
        certificate_pem=certificate.certificate_pem if certificate else None,
        private_key_pem=certificate.private_key_pem if certificate else None,
        thumbprint=certificate.sha1_thumbprint if certificate else None,
    )
    return O365Sandbox(org, tenant, state, app, creds, end, gen, memberships)


def _published(item: tuple[dict[str, Any], datetime]) -> datetime:
    return item[1]


class O365LiveTrickle:
    """Publishes the tenant's everyday records as time passes, so polling finds new blobs.

    ``step()`` publishes what became due since the last step. It generates ahead by
    ``lead`` at a time and publishes those records at their own (future) publication times —
    the emulator lists a blob only once the clock reaches it — so a step every few seconds
    does not re-plan the whole org each time. ``start()`` runs ``step`` every ``every``
    seconds in a daemon thread until ``stop()``.
    """

    def __init__(
        self,
        sandbox: O365Sandbox,
        *,
        every: float = 5.0,
        lead: timedelta = timedelta(hours=1),
    ) -> None:
        self._sandbox = sandbox
        self._horizon = sandbox.history_end  # records published up to here are loaded
        self._lead = lead
        self._ticker = Ticker(self.step, every, "o365-trickle")
        self.appended = 0

    def step(self) -> int:
        """Publish the records due by now (and the next ``lead`` of them); returns how many."""
        state = self._sandbox.state
        now = state.clock.now()
        if now < self._horizon:
            return 0
        until = now + self._lead
        batch = list(self._due(self._horizon, until, now))
        state.blobs.load(batch)
        self._horizon = until
        self.appended += len(batch)
        return len(batch)

    def _due(
        self, since: datetime, until: datetime, now: datetime
    ) -> Iterator[tuple[dict[str, Any], datetime]]:
        for record, published in self._sandbox.generator.records(since, until):
            # Never publish into the past: a client may already have listed past it.
            yield record, max(published, now)

    def start(self) -> O365LiveTrickle:
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._ticker.stop()
