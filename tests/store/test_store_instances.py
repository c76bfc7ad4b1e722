"""Instances: CRUD, secrets encrypted at rest, health round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.errors import ConfigError, ErrorInfo, NotFound
from opencasb.model.health import Health, HealthState
from opencasb.store import Store, open_store

SECRET = "00Xy-very-secret-api-token-1234"


def test_add_get_list(store: Store, clock: FakeClock) -> None:
    rec = store.add_instance("okta", "acme", {"domain": "acme.okta.com"}, {"token": SECRET})
    assert rec.name == "acme" and rec.app == "okta" and rec.enabled
    assert rec.config == {"domain": "acme.okta.com"}
    assert rec.interval_seconds == 60
    assert rec.created_at == clock.now()
    assert rec.health == Health()
    assert not hasattr(rec, "secrets")
    assert SECRET not in repr(rec)
    assert store.get_instance("acme") == rec
    store.add_instance("office365", "contoso", {}, {}, interval_seconds=300, enabled=False)
    assert [r.name for r in store.list_instances()] == ["acme", "contoso"]


def test_duplicate_name(store: Store) -> None:
    store.add_instance("okta", "acme", {}, {"token": "x"})
    with pytest.raises(ConfigError, match="already exists"):
        store.add_instance("okta", "acme", {}, {"token": "y"})
    # The failed insert left the store usable.
    assert len(store.list_instances()) == 1


def test_bad_interval(store: Store) -> None:
    with pytest.raises(ConfigError):
        store.add_instance("okta", "acme", {}, {}, interval_seconds=0)


def test_update_and_remove(store: Store) -> None:
    rec = store.add_instance("okta", "acme", {"domain": "a"}, {"token": "old"})
    new = store.update_instance("acme", config={"domain": "b"}, enabled=False, interval_seconds=120)
    assert (new.config, new.enabled, new.interval_seconds) == ({"domain": "b"}, False, 120)
    assert store.instance_secrets(new) == {"token": "old"}
    store.update_instance("acme", secrets={"token": "new"})
    assert store.instance_secrets(rec) == {"token": "new"}
    store.remove_instance("acme")
    with pytest.raises(NotFound):
        store.get_instance("acme")
    with pytest.raises(NotFound):
        store.remove_instance("acme")
    with pytest.raises(NotFound):
        store.update_instance("acme", enabled=True)


def test_secrets_are_encrypted_in_the_database(store: Store) -> None:
    rec = store.add_instance("okta", "acme", {}, {"token": SECRET})
    with store.engine.connect() as conn:
        dump = conn.execute(text("SELECT * FROM instances")).all()
    assert SECRET not in repr(dump)
    assert store.instance_secrets(rec) == {"token": SECRET}


def test_secrets_not_in_sqlite_file(tmp_path) -> None:
    path = tmp_path / "x.db"
    s = open_store(f"sqlite:///{path}", key=generate_key())
    s.add_instance("okta", "acme", {}, {"token": SECRET})
    s.close()
    for f in tmp_path.iterdir():  # the database file and its WAL
        assert SECRET.encode() not in f.read_bytes()


def test_wrong_master_key(store_url: str, store: Store) -> None:
    store.add_instance("okta", "acme", {}, {"token": SECRET})
    other = open_store(store_url, key=generate_key())
    try:
        with pytest.raises(ConfigError) as err:
            other.instance_secrets(other.get_instance("acme"))
        assert "opencasb apps edit NAME --new-secret" in err.value.fix
        assert SECRET not in str(err.value)
    finally:
        other.close()


def test_no_master_key(store_url: str, store: Store) -> None:
    keyless = open_store(store_url)
    try:
        with pytest.raises(ConfigError, match="master key"):
            keyless.add_instance("okta", "acme", {}, {"token": SECRET})
    finally:
        keyless.close()


def test_health_round_trip(store: Store) -> None:
    rec = store.add_instance("okta", "acme", {}, {})
    t = datetime(2026, 11, 1, 12, 30, 15, 123456, tzinfo=UTC)
    h = Health(
        state=HealthState.DEGRADED,
        progress=0.5,
        last_success=t,
        last_attempt=t,
        newest_event=t,
        lag_seconds=12.5,
        events_stored=10,
        duplicates_dropped=2,
        rejected=1,
        consecutive_failures=3,
        last_error=ErrorInfo("E0000047", "rate limited", "wait", transient=True),
        last_error_at=t,
        counts={"user.session.start": 7},
    )
    store.set_health(rec.id, h)
    assert store.get_health(rec.id) == h
    assert store.get_instance("acme").health == h
    with pytest.raises(NotFound):
        store.get_health(rec.id + 100)
