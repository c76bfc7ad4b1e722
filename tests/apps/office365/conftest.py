"""An in-process Office 365 tenant (the emulator on a fake clock) and connectors for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from tests.sandbox.o365_conftest_helpers import (
    BASE,
    CLIENT_ID,
    SECRET,
    TENANT_ID,
    Tenant,
    make_tenant,
)

from opencasb.apps.office365.connector import Office365Connector
from opencasb.http.options import HttpOptions
from opencasb.sandbox.office365 import O365Seed

__all__ = ["visible_ids"]


def visible_ids(tenant: Tenant, *, since: datetime | None = None) -> set[str]:
    """Ids of every record in a blob listable now and not expired: what the API holds."""
    now = tenant.clock.now()
    oldest = since or now - timedelta(days=7)
    ids: set[str] = set()
    for blob in tenant.state.blobs.all_blobs():
        if oldest <= blob.created <= now:
            ids.update(orjson.loads(r)["Id"] for r in blob.records)
    return ids


@pytest.fixture
def tenant_factory() -> Iterator[Callable[..., Tenant]]:
    gens: list[Iterator[Tenant]] = []

    def make(seed: O365Seed | None = None, **app_kwargs: Any) -> Tenant:
        gen = make_tenant(seed, **app_kwargs)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        gen.close()


@pytest.fixture
def tenant(tenant_factory: Callable[..., Tenant]) -> Tenant:
    return tenant_factory()


@pytest.fixture
def connect(tenant: Tenant) -> Iterator[Callable[..., Office365Connector]]:
    made: list[Office365Connector] = []

    def make(secret: str = SECRET, t: Tenant | None = None, **config: str) -> Office365Connector:
        target = t or tenant
        cfg = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "endpoint": BASE, **config}
        http = HttpOptions(transport=target.client._transport, clock=target.clock)
        conn = Office365Connector(cfg, {"client_secret": secret}, http=http)
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()
