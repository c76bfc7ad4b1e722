"""`opencasb notifiers`, in-process, against a real webhook receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from click.testing import CliRunner, Result
from tests.notify.conftest import alert, raise_alerts
from tests.notify.receivers import WebhookReceiver, free_port

from opencasb.cli import app
from opencasb.store import open_store

COMMAND = typer.main.get_command(app)
KEY = "cli-signing-key-0123456789"


def run(data_dir: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    full = {
        "OPENCASB_CONFIG": None,
        "OPENCASB_DATABASE_URL": None,
        "OPENCASB_SECRET_KEY": None,
        "OPENCASB_WEBHOOK_KEY": None,
        "OPENCASB_DATA_DIR": str(data_dir),
        "COLUMNS": "300",
        **(env or {}),
    }
    return CliRunner().invoke(COMMAND, list(args), env=full)


def test_add_test_list_deliver_and_dead_letters(tmp_path: Path) -> None:
    hook = WebhookReceiver(KEY, port=free_port())
    # No key anywhere and no terminal: refused, and the key is never an argument.
    r = run(tmp_path, "notifiers", "add", "webhook", "siem", "--url", hook.url)
    assert r.exit_code == 1 and "OPENCASB_WEBHOOK_KEY" in r.output
    r = run(
        tmp_path,
        "notifiers", "add", "webhook", "siem", "--url", hook.url, "--max-attempts", "1",
        env={"OPENCASB_WEBHOOK_KEY": KEY},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run(tmp_path, "notifiers", "test", "siem")
    assert r.exit_code == 1 and "could not reach the webhook" in r.output
    hook.start()
    try:
        r = run(tmp_path, "notifiers", "test", "siem")
        assert r.exit_code == 0, r.output
        assert "HTTP 200" in r.output
        [got] = hook.received
        assert got.body["test"] is True and got.body["event"] == "test"

        store = open_store(f"sqlite:///{tmp_path / 'opencasb.db'}")
        try:
            raise_alerts(store, alert(1))
        finally:
            store.close()
        hook.status = 503
        r = run(tmp_path, "notifiers", "deliver")
        assert r.exit_code == 0 and "1 dead-lettered" in r.output
        r = run(tmp_path, "notifiers", "dead-letters")
        assert "HTTP 503" in r.output and "Mass download" in r.output
        assert KEY not in r.output
        r = run(tmp_path, "notifiers")
        assert "siem" in r.output and KEY not in r.output
        hook.status = 200
        r = run(tmp_path, "notifiers", "dead-letters", "retry", "--all")
        assert "queued 1" in r.output
        r = run(tmp_path, "notifiers", "deliver")
        assert "1 delivered" in r.output, r.output
        assert [x.body["alert"]["id"] for x in hook.received[1:]] == ["alert-001"]
        assert "no dead letters" in run(tmp_path, "notifiers", "dead-letters").output
        assert run(tmp_path, "notifiers", "disable", "siem").exit_code == 0
        assert run(tmp_path, "notifiers", "remove", "siem").exit_code == 0
        assert "no notifiers" in run(tmp_path, "notifiers", "list").output
    finally:
        hook.stop()


def test_invalid_settings_name_every_problem(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        "notifiers", "add", "syslog", "s", "--host", "siem", "--protocol", "smoke",
        "--facility", "99",
    )  # fmt: skip
    assert r.exit_code == 1
    assert "protocol" in r.output and "facility" in r.output


def _stored(data_dir: Path, name: str) -> tuple[dict[str, object], dict[str, str]]:
    """The notifier's stored settings and decrypted secrets, read as the CLI reads them."""
    store = open_store(
        f"sqlite:///{data_dir / 'opencasb.db'}", key=(data_dir / "master.key").read_bytes()
    )
    try:
        rec = store.notifications.get(name)
        return rec.config, store.notifications.secrets(rec)
    finally:
        store.close()


def test_each_kind_stores_its_settings_and_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative --ca-file is stored as an absolute path
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    r = run(
        tmp_path,
        "notifiers", "add", "webhook", "hook", "--url", "https://soc.example/in",
        "--generate-key", "--ca-file", "ca.pem",
        "--event", "opened", "--min-severity", "high",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    config, secrets = _stored(tmp_path, "hook")
    assert (config["url"], config["ca_file"]) == ("https://soc.example/in", str(ca.resolve()))
    assert (config["events"], config["min_severity"]) == (["opened"], "high")
    printed = r.output.split("configure the receiver with it): ")[1].split()[0]
    assert secrets == {"signing_key": printed} and len(printed) >= 32

    r = run(
        tmp_path,
        "notifiers", "add", "syslog", "siem", "--host", "siem.example", "--protocol", "tcp",
        "--port", "1514", "--max-attempts", "3",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    config, secrets = _stored(tmp_path, "siem")
    assert (config["host"], config["port"], config["protocol"]) == ("siem.example", 1514, "tcp")
    assert (config["max_attempts"], config["ca_file"], secrets) == (3, None, {})

    # With a login name the password is read (here from its variable) and stored encrypted.
    r = run(
        tmp_path,
        "notifiers", "add", "email", "mail", "--host", "smtp.example", "--from",
        "casb@example.com", "--to", "soc@example.com", "--to", "ciso@example.com",
        "--username", "casb",
        env={"OPENCASB_SMTP_PASSWORD": "smtp-password-123"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    config, secrets = _stored(tmp_path, "mail")
    assert config["recipients"] == ["soc@example.com", "ciso@example.com"]
    assert (config["username"], secrets) == ("casb", {"password": "smtp-password-123"})
    # Without one there is nothing to ask for (no variable, no terminal: it would fail).
    r = run(
        tmp_path,
        "notifiers", "add", "email", "relay", "--host", "relay.example", "--from",
        "casb@example.com", "--to", "soc@example.com", "--port", "25", "--security", "plain",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _stored(tmp_path, "relay")[1] == {}


def test_a_short_signing_key_is_refused(tmp_path: Path) -> None:
    r = run(
        tmp_path,
        "notifiers", "add", "webhook", "hook", "--url", "https://soc.example/in",
        env={"OPENCASB_WEBHOOK_KEY": "short-key"},
    )  # fmt: skip
    assert r.exit_code == 1
    assert "shorter than 16 characters" in r.output and "--generate-key" in r.output
    assert "short-key" not in r.output
    assert "no notifiers" in run(tmp_path, "notifiers", "list").output


def test_bad_settings_are_named_before_a_secret_is_asked_for(tmp_path: Path) -> None:
    r = run(tmp_path, "notifiers", "add", "webhook", "hook", "--url", "ftp://soc.example/in")
    assert r.exit_code == 1
    assert "url: " in r.output and "OPENCASB_WEBHOOK_KEY" not in r.output
