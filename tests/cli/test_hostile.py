"""Hostile and damaged input: a corrupt store row, a wrong master key, a bad config file,
attacker-chosen text in audit data, and out-of-range arguments. Every one must end in a
clear message and exit code 1, never a traceback."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from opencasb.store.body import compress
from opencasb.store.codec import decode_body

from .conftest import Cli, assert_clean, flat, table_rows


def _newest_row_id(cli: Cli, order: str = "DESC") -> int:
    store = cli.open_store()
    try:
        with store.engine.connect() as conn:
            return int(
                conn.execute(
                    text(f"SELECT id FROM activities ORDER BY time {order}, id {order} LIMIT 1")
                ).scalar_one()
            )
    finally:
        store.close()


def _corrupt_raw(cli: Cli, row_id: int) -> None:
    store = cli.open_store()
    try:
        with store.engine.begin() as conn:
            old = conn.execute(
                text("SELECT body FROM activities WHERE id = :id"), {"id": row_id}
            ).scalar_one()
            fields, _raw = decode_body(old)
            damaged = compress("okta", orjson.dumps(fields) + b'\n{"uuid": "trunc')
            conn.execute(
                text("UPDATE activities SET body = :body WHERE id = :id"),
                {"body": damaged, "id": row_id},
            )
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_corrupt_activity_row_names_the_row(synced: Cli, fmt: str) -> None:
    row_id = _newest_row_id(synced)
    _corrupt_raw(synced, row_id)
    result = synced("activities", "--format", fmt)
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith(f"error: activities row {row_id} cannot be read")
    assert "fix: The row was damaged outside OpenCASB. Restore the database from a backup" in err


def test_corrupt_row_outside_the_page_does_not_break_it(synced: Cli) -> None:
    _corrupt_raw(synced, _newest_row_id(synced, "ASC"))
    result = synced.ok("activities", "--limit", "5")
    assert len(table_rows(result.stdout)) == 6


def _replace_master_key(cli: Cli, key: bytes) -> None:
    (cli.data_dir / "master.key").write_bytes(key)


def test_wrong_master_key_test_command(synced: Cli) -> None:
    _replace_master_key(synced, Fernet.generate_key())
    result = synced("test", "okta")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "error: stored secrets cannot be decrypted with the current master key" in err
    assert "meaning: The secrets were encrypted with a different master key" in err
    assert "fix: The master key changed: restore it, or store the app's credential again" in err


def test_wrong_master_key_sync_command_and_apps(synced: Cli) -> None:
    _replace_master_key(synced, Fernet.generate_key())
    result = synced("sync", "--once")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "okta: stored secrets cannot be decrypted with the current master key" in err
    assert "fix: The master key changed: restore it, or store the app's credential again" in err
    rows = table_rows(synced.ok("apps").stdout)
    assert rows[1][2] == "error"
    assert "fix: The master key changed" in rows[1][-1]


@pytest.mark.parametrize("command", [["apps"], ["test", "okta"], ["activities"]])
def test_master_key_file_that_is_not_a_key(synced: Cli, command: list[str]) -> None:
    _replace_master_key(synced, b"this is not a fernet key\n")
    result = synced(*command)
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert f"error: the master key in {synced.data_dir / 'master.key'} is not a valid key" in err
    assert "fix: restore the original key" in err


def test_secret_key_variable_that_is_not_a_key(synced: Cli) -> None:
    result = synced("apps", env={"OPENCASB_SECRET_KEY": "short"})
    assert_clean(result)
    assert result.exit_code == 1
    assert "the master key in OPENCASB_SECRET_KEY is not a valid key" in flat(result.stderr)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not toml\n", "Expected '=' after a key"),
        ("[section\n", "cannot read the config file"),
        ("\x00\x01binary", "cannot read the config file"),
    ],
)
def test_config_file_that_is_not_toml(cli: Cli, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "opencasb.toml"
    path.write_text(content)
    result = cli("apps", env={"OPENCASB_CONFIG": str(path)})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith(f"error: cannot read the config file {path}")
    assert message in err
    assert err.endswith("fix: fix or unset OPENCASB_CONFIG")


def test_config_file_missing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    result = cli("activities", env={"OPENCASB_CONFIG": str(path)})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert f"cannot read the config file {path}" in err and "No such file" in err


def test_config_file_with_a_wrong_type(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "opencasb.toml"
    path.write_text('poll_interval = "often"\n')
    result = cli("apps", env={"OPENCASB_CONFIG": str(path)})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith("error: invalid settings")
    assert "poll_interval" in err
    assert "fix: check OPENCASB_* variables" in err


def test_config_file_is_used(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    path = tmp_path / "opencasb.toml"
    path.write_text(f"data_dir = {json.dumps(str(other))}\n")
    result = cli("apps", env={"OPENCASB_CONFIG": str(path), "OPENCASB_DATA_DIR": None})
    assert result.exit_code == 0, result.output
    assert (other / "master.key").is_file() and (other / "opencasb.db").is_file()


# -- attacker-chosen text ----------------------------------------------------------------


def _import_event(cli: Cli, tmp_path: Path, message: str) -> None:
    event = dict(next(iter(cli.served.sandbox.state.events())))
    event["uuid"] = "hostile-0001"
    event["displayMessage"] = message
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(event) + "\n")
    cli.ok("import", "okta", str(path), "--instance", "hostile")


def test_terminal_escape_in_audit_data_is_kept_in_json(cli: Cli, tmp_path: Path) -> None:
    message = "evil \x1b]8;;https://attacker.example\x1b\\click\x1b]8;;\x1b\\ \x07"
    _import_event(cli, tmp_path, message)
    (row,) = cli.jsonl("--instance", "hostile")
    assert row["raw"]["displayMessage"] == message


def test_markup_in_audit_data_does_not_crash_the_table(cli: Cli, tmp_path: Path) -> None:
    _import_event(cli, tmp_path, "Login [/] by [bold]mallory")
    result = cli("activities", "--instance", "hostile")
    assert_clean(result)
    assert result.exit_code == 0
    assert "Login [/] by [bold]mallory" in flat(result.stdout)


def test_markup_in_audit_data_is_shown_verbatim(cli: Cli, tmp_path: Path) -> None:
    _import_event(cli, tmp_path, "Login by [bold]mallory[/bold] [red]ok")
    result = cli("activities", "--instance", "hostile")
    assert result.exit_code == 0, result.output
    assert "Login by [bold]mallory[/bold] [red]ok" in flat(result.stdout)


@pytest.mark.parametrize(
    "args",
    [
        ["activities", "--since", "[/x]"],
        ["activities", "--format", "[/]"],
        ["activities", "--ip", "[/]"],
        ["test", "[/]"],
    ],
)
def test_markup_in_arguments_echoed_by_errors(synced: Cli, args: list[str]) -> None:
    result = synced(*args)
    assert_clean(result)
    assert result.exit_code == 1
    assert "[/" in result.stderr


def test_invalid_settings_message_shows_the_bad_value(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "opencasb.toml"
    path.write_text('poll_interval = "often"\n')
    result = cli("apps", env={"OPENCASB_CONFIG": str(path)})
    assert "input_value='often'" in flat(result.stderr)


# -- out-of-range arguments ----------------------------------------------------------------


def _token(text_value: str) -> str:
    return base64.urlsafe_b64encode(text_value.encode()).decode().rstrip("=")


@pytest.mark.parametrize("token", [_token("9" * 30 + ".1"), _token("1." + "9" * 30)])
def test_after_token_with_huge_numbers(reader: Cli, token: str) -> None:
    result = reader("activities", "--after", token)
    assert_clean(result)
    assert result.exit_code == 1
    assert "invalid page token in 'after'" in flat(result.stderr)


def test_after_token_with_negative_numbers_is_harmless(reader: Cli) -> None:
    result = reader("activities", "--after", _token("-5.-5"))
    assert_clean(result)
    assert result.exit_code == 0
    assert table_rows(result.stdout)[1:] == []


@pytest.mark.parametrize(
    "args",
    [["--since", "0001-01-01T00:00:00+01:00"], ["--until", "9999-12-31T23:59:59-01:00"]],
)
def test_times_at_the_edge_of_the_calendar(reader: Cli, args: list[str]) -> None:
    result = reader("activities", *args)
    assert_clean(result)
    assert result.exit_code in (0, 1)


def test_times_far_but_in_range_are_fine(reader: Cli) -> None:
    result = reader.ok("activities", "--since", "0001-01-01T00:00:00Z", "--limit", "1")
    assert len(table_rows(result.stdout)) == 2
    empty = reader.ok("activities", "--since", "9999-12-31T00:00:00Z")
    assert table_rows(empty.stdout)[1:] == []


# -- damaged store files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message", "fix"),
    [
        (b"", "is empty (0 bytes)", "fix: Restore"),
        (b"PK\x03\x04 not a database" * 300, "is corrupt or not a database", "fix: Restore"),
    ],
)
def test_damaged_database_file_is_named_with_the_fix(
    cli: Cli, content: bytes, message: str, fix: str
) -> None:
    cli.data_dir.mkdir(parents=True)
    cli.db_path.write_bytes(content)
    result = cli("apps")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith(f"error: the database file {cli.db_path} {message}")
    assert fix in err and "reachable" not in err
    assert cli.db_path.read_bytes() == content  # left as found
