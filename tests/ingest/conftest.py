"""An in-process Okta org, a store and a runner wired together with a shared fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.http.options import HttpOptions
from opencasb.ingest.runner import IngestRunner
from opencasb.sandbox.okta import Faults, RateLimits, generate_rsa_keypair
from opencasb.sandbox.okta.state import epoch_ms
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.transport import SyncASGITransport
from opencasb.store import Store, open_store

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty SQLite store of its own."""
    s = open_store(f"sqlite:///{tmp_path / 'opencasb.db'}", key=generate_key())
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="session")
def rsa_pair() -> tuple[str, str]:
    return generate_rsa_keypair()


@dataclass
class Org:
    clock: FakeClock
    sandbox: OktaSandbox
    store: Store
    transport: SyncASGITransport

    def runner(self) -> IngestRunner:
        return IngestRunner(
            self.store, http=HttpOptions(transport=self.transport, clock=self.clock)
        )

    def connect(self, name: str = "okta", token: str | None = None, **config: str) -> int:
        cfg = {"domain": "acme.okta.test", "backfill_days": "60", **config}
        secrets = {"token": token or self.sandbox.credentials.token}
        return self.store.add_instance("okta", name, cfg, secrets).id

    def visible_uuids(self) -> set[str]:
        """Every event the org's System Log would return now: the ground truth."""
        state = self.sandbox.state
        blobs = state.log.visible(
            now_ms=epoch_ms(self.clock.now()), min_published_ms=epoch_ms(state.retention_start())
        )
        return {orjson.loads(b).get("uuid") for b in blobs} - {None}


@pytest.fixture
def make_org(tmp_path: Path, rsa_pair: tuple[str, str]) -> Iterator[Callable[..., Org]]:
    made: list[Org] = []

    def make(
        *,
        size: int = 50,
        days: int = 5,
        faults: Faults | None = None,
        limits: RateLimits | None = None,
    ) -> Org:
        clock = FakeClock(START)
        sandbox = build_okta_sandbox(
            seed=7,
            size=size,
            days=days,
            clock=clock,
            faults=faults,
            rate_limits=limits,
            oauth_key_pem=rsa_pair,
        )
        store = open_store(f"sqlite:///{tmp_path}/store-{len(made)}.db", key=generate_key())
        org = Org(clock, sandbox, store, SyncASGITransport(sandbox.app))
        made.append(org)
        return org

    yield make
    for org in made:
        org.store.close()
        org.transport.close()
