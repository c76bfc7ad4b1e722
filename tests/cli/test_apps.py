"""`opencasb apps` (the status table), `opencasb test NAME` and `opencasb sync --once`."""

from __future__ import annotations

import json

from .conftest import WRONG_TOKEN, Cli, assert_clean, flat, table_rows

_COLUMNS = ["name", "app", "state", "last poll", "newest event", "lag", "events", "problem"]


def _revoke(cli: Cli, name: str = "okta") -> None:
    """What a revoked token looks like to us: the stored token is refused by Okta."""
    store = cli.open_store()
    try:
        store.update_instance(name, secrets={"token": WRONG_TOKEN})
    finally:
        store.close()


def _apps_row(cli: Cli, name: str = "okta") -> dict[str, str]:
    out = cli.ok("apps").stdout
    rows = table_rows(out)
    assert rows[0] == _COLUMNS
    found = [dict(zip(_COLUMNS, r, strict=True)) for r in rows[1:] if r[0] == name]
    assert len(found) == 1, out
    return found[0]


def test_empty_store_says_how_to_connect(cli: Cli) -> None:
    result = cli.ok("apps")
    assert flat(result.stdout) == (
        "no apps connected yet: run `opencasb connect okta --domain ...`"
    )


def test_after_sync_the_instance_is_connected_with_its_event_count(synced: Cli) -> None:
    store = synced.open_store()
    try:
        count = store.count_activities(store.get_instance("okta").id)
    finally:
        store.close()
    assert count > 100
    row = _apps_row(synced)
    assert row["app"] == "okta"
    assert row["state"] == "connected"
    assert row["events"] == f"{count:,}"
    assert row["last poll"] != "never" and row["newest event"] != "never"
    assert row["problem"] == ""


def test_connected_but_never_synced_shows_never(cli: Cli) -> None:
    assert cli.connect().exit_code == 0
    row = _apps_row(cli)
    assert row["state"] == "connecting"
    assert (row["last poll"], row["newest event"], row["lag"], row["events"]) == (
        "never",
        "never",
        "-",
        "0",
    )


def test_sync_once_reports_what_it_stored(cli: Cli) -> None:
    assert cli.connect().exit_code == 0
    cli.skip_inventory("okta")
    first = cli.ok("sync", "okta", "--once")
    store = cli.open_store()
    try:
        count = store.count_activities()
    finally:
        store.close()
    assert f"okta: {count:,} new, 0 duplicate, 0 quarantined" in flat(first.stdout)
    again = cli.ok("sync", "--once")
    assert "okta: 0 new," in flat(again.stdout)


def test_revoked_token_fails_the_sync_and_shows_in_apps(synced: Cli) -> None:
    _revoke(synced)
    result = synced("sync", "--once")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith("okta: ")
    assert "fix: create a new API token" in err
    assert WRONG_TOKEN not in result.output

    row = _apps_row(synced)
    assert row["state"] == "error"
    problem = " ".join(row["problem"].split())
    assert problem.startswith("E0000011: Okta refused the API token")
    assert "fix: create a new API token" in problem
    assert row["events"] != "0"  # what was stored before stays counted


def test_one_failing_instance_fails_the_run_but_the_others_sync(synced: Cli) -> None:
    s = synced.served
    result = synced(
        "connect",
        "okta",
        "--name",
        "second",
        "--domain",
        s.url,
        "--ca-bundle",
        str(s.ca),
        env={"OKTA_API_TOKEN": s.token},
    )
    assert result.exit_code == 0, result.output
    synced.skip_inventory("second")
    _revoke(synced, "okta")
    run = synced("sync", "--once")
    assert_clean(run)
    assert run.exit_code == 1
    assert "second: " in flat(run.stdout) and " new, " in flat(run.stdout)
    assert _apps_row(synced, "second")["state"] == "connected"
    assert _apps_row(synced, "okta")["state"] == "error"


def test_test_ok(synced: Cli) -> None:
    result = synced.ok("test", "okta")
    assert flat(result.stdout) == (
        f"✓ okta: connected to {synced.served.url}: System Log and Users API readable"
    )


def test_test_failing_explains_meaning_and_fix(synced: Cli) -> None:
    _revoke(synced)
    result = synced("test", "okta")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "✗ okta: connection test failed" in err
    assert "error: E0000011:" in err
    assert "meaning: Okta refused the API token" in err
    assert "fix: create a new API token" in err
    assert WRONG_TOKEN not in result.output


def test_test_unknown_name_is_not_found(synced: Cli) -> None:
    result = synced("test", "nope")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err == (
        "error: no app instance named 'nope' "
        "fix: List the connected instances with `opencasb apps` and use one of their names."
    )


def test_sync_unknown_name_is_not_found(synced: Cli) -> None:
    result = synced("sync", "nope", "--once")
    assert_clean(result)
    assert result.exit_code == 1
    assert "error: no app instance named 'nope'" in flat(result.stderr)


def test_apps_json_for_scripts_has_health_and_services_but_no_secret(synced: Cli) -> None:
    out = synced.ok("apps", "--format", "json").stdout
    (row,) = json.loads(out)
    assert row["name"] == "okta" and row["app"] == "okta" and row["enabled"] is True
    assert row["state"] == row["health"]["state"] == "connected"
    assert row["health"]["events_stored"] == synced_count(synced)
    assert row["services"] == [] and row["config"]["domain"] == synced.served.url
    assert synced.served.token not in out


def test_apps_json_empty_store_is_an_empty_array(cli: Cli) -> None:
    assert json.loads(cli.ok("apps", "--format", "json").stdout) == []


def test_apps_unknown_format(cli: Cli) -> None:
    result = cli("apps", "--format", "yaml")
    assert result.exit_code == 1 and "unknown format 'yaml'" in flat(result.stderr)


def test_apps_fit_80_columns(synced: Cli) -> None:
    out = synced.ok("apps", env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "okta  okta  connected" in out


def synced_count(cli: Cli) -> int:
    store = cli.open_store()
    try:
        return store.count_activities()
    finally:
        store.close()
