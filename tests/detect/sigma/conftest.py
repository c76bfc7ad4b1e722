"""A real store (SQLite and PostgreSQL, through ``store_url``) for the Sigma stage tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.store import Store, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    s = open_store(store_url, key=generate_key(), clock=clock)
    try:
        yield s
    finally:
        s.close()
