"""Browser tests: the real portal served by uvicorn on loopback over a real SQLite store,
driven by Playwright through Debian's chromium (headless; Playwright's own browser download
is never used). The sandbox emulators (Okta, Office 365) run in this process over HTTPS.

Every page a test visits is saved as a screenshot under ``$OPENCASB_TEST_ARTIFACTS`` (default
``tests/artifacts/browser``) to be looked at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("OPENCASB_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = (
    Path(
        os.environ.get("OPENCASB_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")
    )
    / "browser"
)

pytestmark = pytest.mark.e2e

if not CHROMIUM.exists():  # scripts/setup.sh installs it; say so rather than fail obscurely
    pytest.skip(
        f"{CHROMIUM} is missing: run scripts/setup.sh as root (apt-get install chromium)",
        allow_module_level=True,
    )
playwright_sync = pytest.importorskip("playwright.sync_api")


@dataclass
class Sandboxes:
    okta_url: str
    okta_token: str
    o365_url: str
    o365: Any  # O365SandboxCredentials
    ca: str


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandboxes]:
    """Small Okta and Office 365 emulators over HTTPS, with the labelled scenarios."""
    from opencasb.clock import SystemClock
    from opencasb.sandbox.office365.ratelimit import Limits
    from opencasb.sandbox.office365_sandbox import build_o365_sandbox
    from opencasb.sandbox.okta_sandbox import build_okta_sandbox
    from opencasb.sandbox.scenarios import sandbox_plan
    from opencasb.sandbox.server import SandboxServer
    from opencasb.sandbox.tls import ensure_sandbox_tls

    tls = ensure_sandbox_tls(tmp_path_factory.mktemp("tls"))
    anchor = SystemClock().now() - timedelta(minutes=2)
    plan = sandbox_plan(3, 50, anchor, 2)
    okta = build_okta_sandbox(seed=3, size=50, days=2, anchor=anchor, scenarios=plan)
    limits = Limits(activity_per_minute=60_000, shared_pool_per_minute=60_000)
    o365 = build_o365_sandbox(seed=3, size=50, days=2, anchor=anchor, scenarios=plan, limits=limits)
    with SandboxServer(okta.app, tls) as okta_server, SandboxServer(o365.app, tls) as o365_server:
        yield Sandboxes(
            okta_server.base_url,
            okta.credentials.token,
            o365_server.base_url,
            o365.credentials,
            str(tls.ca_cert),
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


class Shots:
    """Saves screenshots as ``NN-name.png`` in the artifacts folder, in the order taken."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self.folder = folder
        self.count = 0

    def __call__(self, page: Any, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def shot() -> Shots:
    return Shots(ARTIFACTS)


@dataclass
class Portal:
    url: str
    store: Any
    users: dict[str, tuple[str, str]]  # role -> (name, password)


PASSWORD = "correct horse battery staple"
USERS = {"admin": "ann", "analyst": "ana", "read_only": "rob"}


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal (``create_app``) over a fresh SQLite store, one user of each role."""
    from argon2 import PasswordHasher
    from tests.browser.server import PortalServer

    import opencasb.sandbox
    from opencasb.config import Settings
    from opencasb.crypto import generate_key
    from opencasb.store import open_store
    from opencasb.web.app import create_app
    from opencasb.web.auth.accounts import add_user
    from opencasb.web.context import WebContext

    folder = tmp_path_factory.mktemp("portal")
    url = f"sqlite:///{folder / 'opencasb.db'}"
    store = open_store(url, key=generate_key())
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    for role, name in USERS.items():
        add_user(store, hasher, name, PASSWORD, role)
    # the demo's own Sigma rules, so Settings and Policies show a folder with rules
    sigma = Path(opencasb.sandbox.__file__).parent / "data" / "sigma"
    settings = Settings(data_dir=folder / "data", database_url=url, sigma_rules_dir=sigma)
    ctx = WebContext(store=store, settings=settings, password_hasher=hasher)
    server = PortalServer(create_app(ctx)).start()
    try:
        yield Portal(server.url, store, {r: (n, PASSWORD) for r, n in USERS.items()})
    finally:
        server.stop()
        store.close()


@pytest.fixture
def sign_in(browser: Any, portal: Portal) -> Iterator[Any]:
    """``sign_in(role)`` -> a new page signed in as that role's user, through the form."""
    contexts: list[Any] = []

    def _sign_in(role: str) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=portal.url)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto("/signin")
        name, password = portal.users[role]
        page.fill("#username", name)
        page.fill("#password", password)
        page.click("button[type=submit]")
        return page

    yield _sign_in
    for ctx in contexts:
        ctx.close()
