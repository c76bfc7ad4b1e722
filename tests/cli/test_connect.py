"""`opencasb connect okta`: validate, test, save; secrets only from env/prompt, encrypted."""

from __future__ import annotations

import pytest

from .conftest import WRONG_TOKEN, Cli, assert_clean, flat


def _stored_bytes(cli: Cli) -> bytes:
    """Every byte SQLite keeps on disk for the store (the database and any WAL/journal)."""
    return b"".join(p.read_bytes() for p in cli.data_dir.glob("opencasb.db*"))


def _instances(cli: Cli) -> list[str]:
    if not cli.db_path.exists():
        return []
    store = cli.open_store()
    try:
        return [r.name for r in store.list_instances()]
    finally:
        store.close()


def test_token_from_env_connects_and_is_encrypted_at_rest(cli: Cli) -> None:
    result = cli.connect()
    assert_clean(result)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert f"✓ connected to {cli.served.url}: System Log and Users API readable" in out
    assert f"connected okta ({cli.served.url})" in out
    assert cli.served.token not in result.output

    store = cli.open_store()
    try:
        rec = store.get_instance("okta")
        assert rec.app == "okta" and rec.enabled
        assert rec.config["domain"] == cli.served.url
        assert rec.config["backfill_days"] == "60"
        assert cli.served.token not in repr(rec)
        assert store.instance_secrets(rec) == {"token": cli.served.token}
    finally:
        store.close()
    on_disk = _stored_bytes(cli)
    assert cli.served.url.encode() in on_disk  # we are reading where the data lives
    assert cli.served.token.encode() not in on_disk
    assert cli.served.token[2:20].encode() not in on_disk


def test_token_env_option_names_another_variable(cli: Cli) -> None:
    s = cli.served
    result = cli(
        "connect",
        "okta",
        "--domain",
        s.url,
        "--ca-bundle",
        str(s.ca),
        "--token-env",
        "MY_OKTA_TOKEN",
        "--name",
        "prod",
        env={"MY_OKTA_TOKEN": s.token},
    )
    assert result.exit_code == 0, result.output
    assert _instances(cli) == ["prod"]


def test_invalid_token_explains_and_saves_nothing(cli: Cli) -> None:
    result = cli.connect(token=WRONG_TOKEN)
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "connection test failed" in err
    assert "E0000011" in err
    assert "meaning: Okta refused the API token" in err
    assert "fix: create a new API token" in err
    assert "nothing was saved" in err
    assert WRONG_TOKEN not in result.output
    assert _instances(cli) == []
    assert "no apps connected yet" in flat(cli.ok("apps").stdout)


@pytest.mark.parametrize(
    ("domain", "message", "fix"),
    [
        (
            "acme-admin.okta.com",
            "acme-admin.okta.com is the Admin Console host, which does not serve the API",
            "drop '-admin' from the domain",
        ),
        (
            "http://acme.okta.com",
            "the Okta domain must use https, not http",
            "Okta serves its API over HTTPS only; use https://acme.okta.com",
        ),
        ("https://acme.okta.com/api/v1", "has more than a host name", "give only the org's host"),
        ("", "the Okta domain is empty", "give the org's domain"),
    ],
)
def test_bad_domain_is_a_config_error(cli: Cli, domain: str, message: str, fix: str) -> None:
    result = cli("connect", "okta", "--domain", domain, env={"OKTA_API_TOKEN": WRONG_TOKEN})
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert err.startswith("error: ")
    assert message in err
    assert f"fix: {fix}" in err
    assert _instances(cli) == []


def test_no_token_and_no_tty_says_to_set_the_variable(cli: Cli) -> None:
    s = cli.served
    result = cli("connect", "okta", "--domain", s.url, "--ca-bundle", str(s.ca))
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "error: no Okta API token given" in err
    assert "fix: set OKTA_API_TOKEN" in err
    assert "never taken from the command line" in err
    assert _instances(cli) == []


def test_backfill_beyond_retention_points_to_import(cli: Cli) -> None:
    result = cli.connect("--backfill-days", "91")
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "backfill_days must be between 0 and 90, not 91" in err
    assert "fix:" in err and "opencasb import okta FILE" in err
    assert _instances(cli) == []


def test_backfill_of_90_days_is_accepted(cli: Cli) -> None:
    result = cli.connect("--backfill-days", "90", "--skip-test")
    assert result.exit_code == 0, result.output
    assert "backfill 90 days" in flat(result.stdout)


@pytest.mark.parametrize("flag", ["--token", "--api-token", "--secret"])
def test_no_option_takes_the_token_from_argv(cli: Cli, flag: str) -> None:
    s = cli.served
    result = cli("connect", "okta", "--domain", s.url, flag, s.token)
    assert result.exit_code == 2  # a usage error from the parser, before anything runs
    assert f"No such option: {flag}" in flat(result.output)
    assert not cli.db_path.exists()


def test_same_name_twice_is_refused(synced: Cli) -> None:
    result = synced.connect()
    assert_clean(result)
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert "an app instance named 'okta' already exists" in err
    assert "fix: Choose another name" in err
