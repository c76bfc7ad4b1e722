"""Fixtures for the web app: a real store (SQLite and PostgreSQL), a fake clock shared by the
store and the app, cheap argon2 parameters, and signed-in clients of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from opencasb.clock import FakeClock
from opencasb.config import Settings
from opencasb.crypto import generate_key
from opencasb.store import Store, open_store
from opencasb.web.app import create_app
from opencasb.web.auth.accounts import add_user
from opencasb.web.context import WebContext

KEY = generate_key()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "read_only")


@dataclass
class Web:
    """The app under test and what it runs on."""

    ctx: WebContext
    clock: FakeClock
    store: Store

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(create_app(self.ctx), base_url=base_url)

    def add_user(self, name: str, role: str) -> None:
        add_user(self.store, self.ctx.password_hasher, name, PASSWORD, role)

    def signed_in(self, role: str, base_url: str = "http://testserver") -> TestClient:
        """A client signed in as the user named like ``role`` (created if missing), with the
        session's CSRF token as a default header."""
        if role not in {u.username for u in self.store.portal.list_users()}:
            self.add_user(role, role)
        c = self.client(base_url)
        r = c.post("/api/v1/session", json={"username": role, "password": PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def web(store_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Web]:
    store = open_store(store_url, key=KEY, clock=clock)
    settings = Settings(data_dir=tmp_path / "data", database_url=store_url)
    ctx = WebContext(
        store=store,
        settings=settings,
        clock=clock,
        password_hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    try:
        yield Web(ctx, clock, store)
    finally:
        store.close()
