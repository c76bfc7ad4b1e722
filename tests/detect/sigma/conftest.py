"""The Sigma stage tests run on the root conftest's ``store`` (SQLite and PostgreSQL), with
its clock on the day of the sample rules' activities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencasb.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))
