"""``opencasb users`` and ``opencasb serve``, and the app behind a real HTTPS server."""

from __future__ import annotations

import getpass
import ssl
from pathlib import Path

import httpx
import pytest
import typer
from click.testing import CliRunner, Result
from tests.web.conftest import PASSWORD, Web

from opencasb.cli import app
from opencasb.cli.context import Ctx
from opencasb.cli.serve_cmd import announce_first_admin
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls
from opencasb.store import open_store
from opencasb.web.app import create_app

COMMAND = typer.main.get_command(app)


def _run(data: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    full = {
        "OPENCASB_DATA_DIR": str(data),
        "OPENCASB_DATABASE_URL": None,
        "OPENCASB_CONFIG": None,
        "OPENCASB_USER_PASSWORD": None,
        "COLUMNS": "300",
        **(env or {}),
    }
    return CliRunner().invoke(COMMAND, list(args), env=full)


def test_users_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = _run(data, "users", "add", "Ann", "--role", "analyst",
             env={"OPENCASB_USER_PASSWORD": PASSWORD})  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "added ann (analyst)" in r.output
    r = _run(data, "users", "add", "bob", "--role", "admin", "--generate")
    assert r.exit_code == 0 and "password (shown once):" in r.output
    generated = r.output.split("password (shown once):")[1].split()[0]
    assert len(generated) == 20
    r = _run(data, "users", "add", "carl")  # no terminal, no variable, no --generate
    assert r.exit_code == 1 and "no password given" in r.output
    r = _run(data, "users", "add", "carl", env={"OPENCASB_USER_PASSWORD": "short"})
    assert r.exit_code == 1 and "at least 12 characters" in r.output
    assert _run(data, "users", "set-role", "ann", "read-only").exit_code == 0
    assert _run(data, "users", "set-password", "ann", "--generate").exit_code == 0
    listed = _run(data, "users").output
    assert "ann" in listed and "read_only" in listed and "bob" in listed
    r = _run(data, "users", "remove", "bob")
    assert r.exit_code == 1 and "last admin" in r.output
    assert _run(data, "users", "remove", "ann").exit_code == 0
    r = _run(data, "users", "set-role", "ann", "admin")
    assert r.exit_code == 1 and "no user 'ann'" in r.output
    # every change is in the audit trail, by the operating-system user, via the CLI
    store = open_store(f"sqlite:///{data / 'opencasb.db'}", key=(data / "master.key").read_bytes())
    try:
        trail = list(reversed(store.portal.list_audit()))
    finally:
        store.close()
    assert [(e.action, e.target) for e in trail] == [
        ("user.add", "ann"), ("user.add", "bob"), ("user.set_role", "ann"),
        ("user.set_password", "ann"), ("user.remove", "ann"),
    ]  # fmt: skip
    actor = f"cli:{getpass.getuser()}"
    assert all(e.actor == actor and e.detail["via"] == "cli" for e in trail)
    assert generated not in str([e.detail for e in trail])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_serve_refuses_a_non_loopback_address_without_the_flag(tmp_path: Path, host: str) -> None:
    r = _run(tmp_path / "data", "serve", "--host", host)
    assert r.exit_code == 1 and "refusing to listen" in r.output and "--allow-remote" in r.output


def test_serve_wants_both_tls_files(tmp_path: Path) -> None:
    r = _run(tmp_path / "data", "serve", "--tls-cert", str(tmp_path / "c.pem"))
    assert r.exit_code == 1 and "--tls-key" in r.output


def test_first_run_creates_an_admin_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = Ctx(data_dir=tmp_path / "data")
    try:
        announce_first_admin(state)
        out = capsys.readouterr().out
        assert "created the portal admin admin" in out
        password = out.split("with the password")[1].split()[0]
        users = state.store.portal.list_users()
        assert [(u.username, u.role) for u in users] == [("admin", "admin")]
        assert password not in users[0].password_hash
        announce_first_admin(state)
        assert "created" not in capsys.readouterr().out
    finally:
        state.close()


def test_the_app_over_a_real_https_server(web: Web, tmp_path: Path) -> None:
    web.add_user("ann", "admin")
    tls = ensure_sandbox_tls(tmp_path / "tls")
    with (
        SandboxServer(create_app(web.ctx), tls) as server,
        httpx.Client(
            base_url=server.base_url, verify=ssl.create_default_context(cafile=str(tls.ca_cert))
        ) as c,
    ):
        r = c.post("/api/v1/session", json={"username": "ann", "password": PASSWORD})
        assert r.status_code == 200
        assert r.headers["set-cookie"].startswith("__Host-opencasb_session=")
        csrf = r.json()["csrf_token"]
        made = c.post("/api/v1/tokens", json={"name": "t"}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201
        # a cross-site form post over the wire is refused before anything runs
        evil = c.post(
            "/api/v1/tokens",
            data={"name": "x", "csrf_token": csrf},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert evil.status_code == 403 and evil.json()["code"] == "cross_site"
        assert [t.name for t in web.store.portal.list_tokens()] == ["t"]


def test_the_demo_serves_the_portal_and_prints_working_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from opencasb.cli.demo import _serve_portal

    state = Ctx(data_dir=tmp_path / "demo")
    try:
        for run in range(2):  # a later run of the same demo store gets a new password
            portal = _serve_portal(state, 0)
            try:
                out = " ".join(capsys.readouterr().out.split())
                assert f"portal at {portal.url}" in out, out
                password = out.split("with the password ")[1].split()[0]
                with httpx.Client(base_url=portal.url) as c:
                    r = c.post("/api/v1/session", json={"username": "admin", "password": password})
                    assert r.status_code == 200, (run, r.text)
                    assert c.get("/api/v1/apps").status_code == 200
            finally:
                portal.stop()
    finally:
        state.close()
