"""Credential rotation and instance management: `apps edit|disable|enable|remove` and
`connect --replace [--reset]`, against the emulated Okta org. Rotation keeps the instance's
cursors and activities, so the next sync continues instead of starting over."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from opencasb.cli import manage_cmd

from .conftest import _CLEAN_ENV, COMMAND, WRONG_TOKEN, Cli, assert_clean, flat


def _cursors(cli: Cli) -> dict[str, str]:
    store = cli.open_store()
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT feed, cursor FROM cursors")).all()
        return {r.feed: r.cursor for r in rows}
    finally:
        store.close()


def _count(cli: Cli) -> int:
    store = cli.open_store()
    try:
        return store.count_activities()
    finally:
        store.close()


def _secrets(cli: Cli, name: str = "okta") -> dict[str, str]:
    store = cli.open_store()
    try:
        return store.instance_secrets(store.get_instance(name))
    finally:
        store.close()


def _app(cli: Cli, name: str = "okta") -> dict[str, Any]:
    rows = json.loads(cli.ok("apps", "--format", "json").stdout)
    (row,) = [r for r in rows if r["name"] == name]
    return dict(row)


def _revoke(cli: Cli) -> None:
    store = cli.open_store()
    try:
        store.update_instance("okta", secrets={"token": WRONG_TOKEN})
    finally:
        store.close()


def test_rotating_an_expired_token_keeps_cursors_and_data(synced: Cli) -> None:
    _revoke(synced)
    failed = synced("sync", "--once")
    assert failed.exit_code == 1
    assert "`opencasb apps edit NAME --new-secret`" in flat(failed.stderr)  # the fix names it
    before, count = _cursors(synced), _count(synced)
    assert _app(synced)["health"]["state"] == "error"

    result = synced.ok(
        "apps", "edit", "okta", "--new-secret", env={"OKTA_API_TOKEN": synced.served.token}
    )
    out = flat(result.stdout)
    assert "✓" in out and "updated okta: token; its cursors and stored activities were kept" in out
    assert _secrets(synced) == {"token": synced.served.token}
    app = _app(synced)
    assert app["health"]["state"] == "connecting" and app["health"]["last_error"] is None
    assert app["health"]["events_stored"] == count
    assert _cursors(synced) == before and _count(synced) == count

    again = synced.ok("sync", "--once")
    assert "okta: 0 new," in flat(again.stdout)  # went on from the cursor, fetched no history
    assert _app(synced)["health"]["state"] == "connected"


def test_a_new_secret_that_fails_the_test_is_not_saved(synced: Cli) -> None:
    result = synced("apps", "edit", "okta", "--new-secret", env={"OKTA_API_TOKEN": WRONG_TOKEN})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "connection test failed" in err and "nothing was saved" in err
    assert _secrets(synced) == {"token": synced.served.token}


def test_secret_from_a_file_and_from_another_variable(synced: Cli, tmp_path: Any) -> None:
    path = tmp_path / "token.txt"
    path.write_text(synced.served.token + "\n")
    _revoke(synced)
    synced.ok("apps", "edit", "okta", "--secret-file", str(path))
    assert _secrets(synced) == {"token": synced.served.token}
    _revoke(synced)
    synced.ok(
        "apps", "edit", "okta", "--secret-env", "MY_TOKEN", env={"MY_TOKEN": synced.served.token}
    )
    assert _secrets(synced) == {"token": synced.served.token}


def test_editing_a_setting(synced: Cli) -> None:
    synced.ok("apps", "edit", "okta", "--set", "backfill_days=30", "--interval", "300")
    app = _app(synced)
    assert app["config"]["backfill_days"] == "30" and app["interval_seconds"] == 300
    assert _secrets(synced) == {"token": synced.served.token}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "token=abc"], "token is a secret: secrets are never taken from the command"),
        (["--set", "colour=blue"], "--set 'colour=blue' is not KEY=VALUE with a setting of okta"),
        (["--set", "backfill_days=900"], "backfill_days"),
        ([], "nothing to change in okta"),
    ],
)
def test_edit_refuses_clearly(synced: Cli, args: list[str], message: str) -> None:
    result = synced("apps", "edit", "okta", *args)
    assert_clean(result)
    assert result.exit_code == 1
    assert message in flat(result.stderr)


def test_edit_unknown_instance(cli: Cli) -> None:
    result = cli("apps", "edit", "nope", "--interval", "60")
    assert result.exit_code == 1 and "no app instance named 'nope'" in flat(result.stderr)


def test_lost_master_key_then_store_the_credential_again(synced: Cli) -> None:
    (synced.data_dir / "master.key").write_bytes(Fernet.generate_key())
    broken = synced("test", "okta")
    assert broken.exit_code == 1
    assert "opencasb apps edit NAME --new-secret" in flat(broken.stderr)
    synced.ok("apps", "edit", "okta", "--new-secret", env={"OKTA_API_TOKEN": synced.served.token})
    synced.ok("test", "okta")


def test_disable_and_enable(synced: Cli) -> None:
    out = flat(synced.ok("apps", "disable", "okta").stdout)
    assert "disabled okta: it is not polled until `opencasb apps enable okta`" in out
    app = _app(synced)
    assert app["enabled"] is False and app["health"]["state"] == "disabled"
    assert "okta:" not in flat(synced.ok("sync", "--once").stdout)  # skipped
    synced.ok("apps", "enable", "okta")
    app = _app(synced)
    assert app["enabled"] is True and app["health"]["state"] == "connecting"
    assert "okta: 0 new," in flat(synced.ok("sync", "--once").stdout)


def test_enable_refuses_an_import_only_instance(cli: Cli, tmp_path: Any) -> None:
    event = dict(next(iter(cli.served.sandbox.state.events())))
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(event) + "\n")
    cli.ok("import", "okta", str(path), "--instance", "history")
    result = cli("apps", "enable", "history")
    assert result.exit_code == 1
    assert "`opencasb connect okta --name history --replace ...`" in flat(result.stderr)


def test_remove_needs_confirmation_without_a_terminal(synced: Cli) -> None:
    result = synced("apps", "remove", "okta")
    assert result.exit_code == 1
    assert "fix: run `opencasb apps remove okta --yes` to confirm" in flat(result.stderr)
    assert _count(synced) > 0


def test_remove_asks_and_no_keeps_everything(synced: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manage_cmd, "_interactive", lambda: True)
    count = _count(synced)
    result = synced.runner.invoke(
        COMMAND,
        ["apps", "remove", "okta"],
        input="n\n",
        env={**_CLEAN_ENV, "OPENCASB_DATA_DIR": str(synced.data_dir)},
    )
    assert result.exit_code == 1
    assert f"Remove okta (okta) with its {count:,} activities" in result.output
    assert _count(synced) == count
    result = synced.runner.invoke(
        COMMAND,
        ["apps", "remove", "okta"],
        input="y\n",
        env={**_CLEAN_ENV, "OPENCASB_DATA_DIR": str(synced.data_dir)},
    )
    assert result.exit_code == 0, result.output
    assert _count(synced) == 0


def test_remove_with_yes_removes_the_instance_and_its_data(synced: Cli) -> None:
    count = _count(synced)
    out = flat(synced.ok("apps", "remove", "okta", "--yes").stdout)
    assert out == f"removed okta and its {count:,} activities"
    assert _count(synced) == 0 and _cursors(synced) == {}
    assert json.loads(synced.ok("apps", "--format", "json").stdout) == []


def test_connect_on_an_existing_name_names_replace(synced: Cli) -> None:
    result = synced.connect()
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "an app instance named 'okta' already exists" in err
    assert "`opencasb connect okta --name okta --replace ...` (keeps its data)" in err


def test_connect_replace_keeps_cursors_and_data(synced: Cli) -> None:
    before, count = _cursors(synced), _count(synced)
    _revoke(synced)
    result = synced.connect("--replace", "--backfill-days", "30")
    assert result.exit_code == 0, result.output
    assert "its cursors and stored activities were kept" in flat(result.stdout)
    assert _cursors(synced) == before and _count(synced) == count
    assert _secrets(synced) == {"token": synced.served.token}
    assert _app(synced)["config"]["backfill_days"] == "30"


def test_connect_replace_reset_starts_over(synced: Cli) -> None:
    result = synced.connect("--replace", "--reset")
    assert result.exit_code == 0, result.output
    assert "its stored activities, cursors and inventory were removed" in flat(result.stdout)
    assert _count(synced) == 0 and _cursors(synced) == {}


def test_reset_without_replace_is_refused(cli: Cli) -> None:
    result = cli.connect("--reset")
    assert result.exit_code == 1
    assert "--reset only applies with --replace" in flat(result.stderr)


def test_connect_replace_of_another_apps_instance_is_refused(synced: Cli) -> None:
    result = synced(
        "connect", "office365", "--name", "okta", "--replace", "--skip-test",
        "--tenant-id", "00000000-0000-4000-8000-000000000001",
        "--client-id", "00000000-0000-4000-8000-000000000002",
        env={"O365_CLIENT_SECRET": "secret-value-1234"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "'okta' is an instance of okta, not office365" in flat(result.stderr)
    assert _count(synced) > 0
