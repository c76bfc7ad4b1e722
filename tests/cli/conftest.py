"""The `opencasb` command line, run in-process against an emulated Okta org over HTTPS.

One emulated org is served on loopback for the whole session (history ends two minutes ago,
so every event is already visible and the truth does not move). Each test gets its own data
directory, hence its own SQLite store and master key. Commands that need a synced store copy
a template that was connected and synced once, instead of syncing again.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import CliRunner, Result

from opencasb.cli import app
from opencasb.clock import SystemClock
from opencasb.sandbox.okta import RateLimits, generate_rsa_keypair
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls
from opencasb.store import Store, open_store

# Variables from the developer's shell that would change what the CLI does; None unsets them.
_CLEAN_ENV: dict[str, str | None] = {
    "OPENCASB_CONFIG": None,
    "OPENCASB_DATABASE_URL": None,
    "OPENCASB_SECRET_KEY": None,
    "OKTA_API_TOKEN": None,
    "OKTA_PRIVATE_KEY": None,
    "COLUMNS": "400",  # wide enough that rich never folds a table cell or a message
    "LINES": "50",
}
# Typer builds the click command from the annotations on every invoke; build it once.
COMMAND = typer.main.get_command(app)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WRONG_TOKEN = "00WrongTokenWrongTokenWrongTokenWrongToken0"


@dataclass(frozen=True)
class Served:
    """The emulated org and where it is served."""

    sandbox: OktaSandbox
    url: str
    ca: Path

    @property
    def token(self) -> str:
        return self.sandbox.credentials.token


def flat(text: str) -> str:
    """Output without colour codes and with all whitespace runs collapsed to one space."""
    return " ".join(_ANSI.sub("", text).split())


def assert_clean(result: Result) -> None:
    """The command ended by itself (any exit code), not by an uncaught exception."""
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        raise AssertionError(f"uncaught {type(exc).__name__}: {exc}\n{result.output}") from exc


def table_rows(text: str) -> list[list[str]]:
    """The header and body rows of a rich table in ``text``, as lists of stripped cells."""
    rows = []
    for line in _ANSI.sub("", text).replace("┃", "│").splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            if rows and not cells[0]:  # a cell's second line continues the row above
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
            else:
                rows.append(cells)
    return rows


class Cli:
    """Runs `opencasb` with its own data directory (store and master key)."""

    def __init__(self, data_dir: Path, served: Served) -> None:
        self.data_dir = data_dir
        self.served = served
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        full_env = {**_CLEAN_ENV, "OPENCASB_DATA_DIR": str(self.data_dir), **(env or {})}
        return self.runner.invoke(COMMAND, list(args), env=full_env)

    def ok(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        """Run and require exit code 0."""
        result = self(*args, env=env)
        assert_clean(result)
        assert result.exit_code == 0, result.output
        return result

    def connect(self, *extra: str, token: str | None = None) -> Result:
        """`connect okta` against the served org, the token in $OKTA_API_TOKEN."""
        s = self.served
        return self(
            "connect",
            "okta",
            "--domain",
            s.url,
            "--ca-bundle",
            str(s.ca),
            *extra,
            env={"OKTA_API_TOKEN": token or s.token},
        )

    def jsonl(self, *filters: str) -> list[dict[str, Any]]:
        """Every activity matching ``filters``, from `activities --format json`."""
        out = self.ok("activities", "--format", "json", "--limit", "0", *filters).stdout
        return [json.loads(line) for line in out.splitlines()]

    def skip_inventory(self, name: str) -> None:
        """Mark the users/groups inventory of ``name`` as just fetched.

        It is not under test here and costs a request per group, so syncs read only the
        System Log.
        """
        store = self.open_store()
        try:
            rec = store.get_instance(name)
            mark = {"at": SystemClock().now().isoformat()}
            store.set_state(rec.id, "inventory", mark)
        finally:
            store.close()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "opencasb.db"

    def open_store(self) -> Store:
        """The same store the CLI uses (close it before running the CLI again)."""
        key = (self.data_dir / "master.key").read_bytes().strip()
        return open_store(f"sqlite:///{self.db_path}", key=key)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    clock = SystemClock()
    tls = ensure_sandbox_tls(tmp_path_factory.mktemp("cli-tls"))
    sb = build_okta_sandbox(
        seed=5,
        size=50,
        days=3,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        rate_limits=RateLimits(logs=100_000),
        oauth_key_pem=generate_rsa_keypair(),
    )
    with SandboxServer(sb.app, tls) as server:
        yield Served(sb, server.base_url, tls.ca_cert)


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory, served: Served) -> Path:
    """A data directory with `okta` connected and synced once (do not modify it)."""
    data = tmp_path_factory.mktemp("cli-synced")
    cli = Cli(data, served)
    result = cli.connect()
    assert result.exit_code == 0, result.output
    cli.skip_inventory("okta")
    # With the anomaly detections (the default): a policy the tests import later still
    # evaluates this history (it catches up alone, then joins the main pass).
    cli.ok("sync", "--once")
    return data


@pytest.fixture(scope="session")
def reader(synced_template: Path, served: Served) -> Cli:
    """The synced template itself, shared: only for commands that do not write."""
    return Cli(synced_template, served)


@pytest.fixture
def cli(tmp_path: Path, served: Served) -> Cli:
    """An empty data directory."""
    return Cli(tmp_path / "data", served)


@pytest.fixture
def synced(tmp_path: Path, served: Served, synced_template: Path) -> Cli:
    """A private copy of the synced data directory."""
    data = tmp_path / "data"
    shutil.copytree(synced_template, data)
    return Cli(data, served)
