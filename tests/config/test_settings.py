from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opencasb.config import load_settings
from opencasb.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENCASB_DATA_DIR", "OPENCASB_DATABASE_URL", "OPENCASB_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("OPENCASB_CONFIG", raising=False)


def test_master_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    key = settings.master_key()
    path = tmp_path / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(data_dir=tmp_path).master_key() == key


def test_database_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = load_settings(data_dir=tmp_path).resolved_database_url()
    assert url == f"sqlite:///{tmp_path / 'opencasb.db'}"


def test_environment_beats_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "opencasb.toml"
    cfg.write_text('database_url = "postgresql+psycopg://file/db"\npoll_interval = 30\n')
    monkeypatch.setenv("OPENCASB_CONFIG", str(cfg))
    assert load_settings().poll_interval == 30
    monkeypatch.setenv("OPENCASB_DATABASE_URL", "postgresql+psycopg://env/db")
    assert load_settings().database_url == "postgresql+psycopg://env/db"


def test_a_broken_config_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("this is = = not toml")
    monkeypatch.setenv("OPENCASB_CONFIG", str(cfg))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "OPENCASB_CONFIG" in info.value.fix


def test_a_bad_secret_key_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(data_dir=tmp_path, secret_key="short").master_key()
    assert "restore" in info.value.fix
