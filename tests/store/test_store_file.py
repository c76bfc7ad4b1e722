"""The SQLite file: private modes, and damaged files refused with what happened and what to do
(an empty file is never silently made into a new store; garbage is not blamed on the network)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from opencasb.config import Settings, make_private_dir
from opencasb.errors import StoreError
from opencasb.store import open_store

from .conftest import KEY, make_activity, save_page


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> object:
    """A umask that would leave new files readable by everyone (the usual 022 or worse)."""
    previous = os.umask(0o002)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("loose_umask")
def test_new_store_directory_and_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    db = data / "opencasb.db"
    store = open_store(f"sqlite:///{db}", key=KEY)
    try:
        save_page(
            store, store.add_instance("okta", "o", {}, {"t": "x"}).id, "log", [make_activity(1)], {}
        )
        assert _mode(data) == 0o700
        for name in ("opencasb.db", "opencasb.db-wal", "opencasb.db-shm"):
            assert _mode(data / name) == 0o600, name
    finally:
        store.close()
    assert os.umask(0o002) == 0o002  # the process umask is back


@pytest.mark.usefixtures("loose_umask")
def test_existing_store_made_readable_by_others_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "opencasb.db"
    open_store(f"sqlite:///{db}", key=KEY).close()
    db.chmod(0o644)
    open_store(f"sqlite:///{db}", key=KEY).close()
    assert _mode(db) == 0o600


@pytest.mark.usefixtures("loose_umask")
def test_master_key_and_data_dir_are_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    settings.master_key()
    assert _mode(tmp_path / "d") == 0o700
    assert _mode(tmp_path / "d" / "master.key") == 0o600


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    make_private_dir(shared)
    assert _mode(shared) == 0o755


def test_zero_length_file_is_refused_not_recreated(tmp_path: Path) -> None:
    db = tmp_path / "opencasb.db"
    db.touch()
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{db}", key=KEY)
    err = caught.value
    assert err.code == "store_empty_file"
    assert f"the database file {db} is empty (0 bytes)" == str(err)
    assert "Restore" in err.fix and "delete the file" in err.fix
    assert db.stat().st_size == 0  # left as found
    assert not db.with_name("opencasb.db-wal").exists()


def test_garbage_file_is_called_corrupt_not_unreachable(tmp_path: Path) -> None:
    db = tmp_path / "opencasb.db"
    db.write_bytes(b"this is no database\x00" * 500)
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{db}", key=KEY)
    err = caught.value
    assert err.code == "store_corrupt"
    assert str(err) == f"the database file {db} is corrupt or not a database"
    assert f"sqlite3 {db} .recover" in err.fix
    assert "reachable" not in err.fix
    assert "Restore the database file from a backup" in err.fix


def test_damaged_pages_are_called_corrupt(tmp_path: Path) -> None:
    db = tmp_path / "opencasb.db"
    store = open_store(f"sqlite:///{db}", key=KEY)
    rec = store.add_instance("okta", "o", {}, {"t": "x"})
    save_page(store, rec.id, "log", [make_activity(i) for i in range(200)], {})
    store.close()
    size = db.stat().st_size
    with db.open("r+b") as fh:  # keep the header, overwrite every page after the first
        fh.seek(16384)
        fh.write(b"\xff" * (size - 16384))
    with pytest.raises(StoreError) as caught:
        store = open_store(f"sqlite:///{db}", key=KEY)
        try:
            store.count_activities()
        finally:
            store.close()
    assert caught.value.code == "store_corrupt"
