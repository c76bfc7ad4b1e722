"""`opencasb connect office365`, `test`, `sync` and `apps` against the Office 365 emulator over
HTTPS: a good connection, and each documented error with its meaning and fix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from opencasb.clock import SystemClock
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls

from .conftest import Cli, Served, assert_clean, flat, table_rows


@dataclass(frozen=True)
class Tenant:
    sandbox: O365Sandbox
    url: str
    ca: Path


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    clock = SystemClock()
    tls = ensure_sandbox_tls(tmp_path_factory.mktemp("o365-tls"))
    sb = build_o365_sandbox(
        seed=3,
        size=50,
        days=2,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        limits=Limits(activity_per_minute=100_000, shared_pool_per_minute=100_000),
    )
    with SandboxServer(sb.app, tls) as server:
        yield Tenant(sb, server.base_url, tls.ca_cert)


@pytest.fixture
def cli(tmp_path: Path, tenant: Tenant) -> Cli:
    served = Served(None, tenant.url, tenant.ca)  # type: ignore[arg-type]
    return Cli(tmp_path / "data", served)


def _connect(cli: Cli, tenant: Tenant, *extra: str, secret: str | None = None) -> object:
    creds = tenant.sandbox.credentials
    return cli(
        "connect",
        "office365",
        "--tenant-id",
        creds.tenant_id,
        "--client-id",
        creds.client_id,
        "--endpoint",
        tenant.url,
        "--ca-bundle",
        str(tenant.ca),
        *extra,
        env={"O365_CLIENT_SECRET": secret or creds.client_secret},
    )


def test_connect_tests_and_saves_with_the_secret_encrypted(cli: Cli, tenant: Tenant) -> None:
    result = _connect(cli, tenant)
    assert_clean(result)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = flat(result.stdout)  # type: ignore[attr-defined]
    assert f"✓ connected to tenant {tenant.sandbox.credentials.tenant_id}" in out
    secret = tenant.sandbox.credentials.client_secret
    assert secret not in result.output  # type: ignore[attr-defined]
    on_disk = b"".join(p.read_bytes() for p in cli.data_dir.glob("opencasb.db*"))
    assert secret.encode() not in on_disk
    store = cli.open_store()
    try:
        rec = store.get_instance("office365")
        assert store.instance_secrets(rec) == {"client_secret": secret}
        assert "activities" in rec.config["components"]
    finally:
        store.close()
    cli.ok("test", "office365")


def test_sync_stores_exactly_the_tenants_records(cli: Cli, tenant: Tenant) -> None:
    result = _connect(cli, tenant)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    cli.ok("sync", "--once")
    truth = {
        orjson.loads(r)["Id"]
        for blob in tenant.sandbox.state.blobs.all_blobs()
        if blob.created <= SystemClock().now()
        for r in blob.records
    }
    rows = table_rows(cli.ok("apps").stdout)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["app"].startswith("office365") and row["state"].startswith("connected")
    # The suite's services appear once their first activity is seen.
    for service in ("Azure Active Directory", "Exchange", "SharePoint", "OneDrive"):
        assert service in row["app"], row["app"]
    assert int(row["events"].replace(",", "")) == len(truth) > 0
    stored = {a["source_event_id"] for a in cli.jsonl("--app", "office365")}
    assert stored == truth


def test_a_bad_secret_is_explained_and_nothing_is_saved(cli: Cli, tenant: Tenant) -> None:
    result = _connect(cli, tenant, secret="Not~the-right-secret-000")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    out = flat(result.output)  # type: ignore[attr-defined]
    assert "AADSTS7000215" in out and "client secret" in out
    assert "nothing was saved" in out
    assert "Not~the-right" not in out


def test_a_wrong_tenant_is_explained(cli: Cli, tenant: Tenant) -> None:
    creds = tenant.sandbox.credentials
    result = cli(
        "connect", "office365", "--tenant-id", "0badc0de-0000-4000-8000-000000000000",
        "--client-id", creds.client_id, "--endpoint", tenant.url, "--ca-bundle", str(tenant.ca),
        env={"O365_CLIENT_SECRET": creds.client_secret},
    )  # fmt: skip
    assert result.exit_code == 1
    out = flat(result.output)
    assert "AADSTS90002" in out and "tenant id" in out


@pytest.mark.parametrize(
    ("switch", "code", "fix_words"),
    [
        ("licensed", "AF20012", "licence"),
        ("auditing_enabled", "audit logging is not enabled", "Purview"),
    ],
)
def test_tenant_problems_show_in_test_and_apps(
    cli: Cli, tenant: Tenant, switch: str, code: str, fix_words: str
) -> None:
    assert _connect(cli, tenant).exit_code == 0  # type: ignore[attr-defined]
    state = tenant.sandbox.state
    saved_subs = dict(state.subscriptions)
    setattr(state, switch, False)
    if switch == "auditing_enabled":
        state.subscriptions.clear()
    try:
        result = cli("test", "office365")
        assert result.exit_code == 1
        out = flat(result.output)
        assert code in out and fix_words in out
        result = cli("sync", "--once")
        apps = flat(cli("apps").stdout)
        assert "error" in apps and fix_words in apps
        assert code in apps
    finally:
        setattr(state, switch, True)
        state.subscriptions.update(saved_subs)


def test_the_secret_never_comes_from_argv(cli: Cli, tenant: Tenant) -> None:
    result = _connect(cli, tenant, "--client-secret", "x")
    assert result.exit_code == 2  # type: ignore[attr-defined]
