"""Secrets at rest, the same for app instances and notifiers (one helper seals and opens
both): encrypted in the table, decrypted on demand, masked in logs once read, a clear error
for another master key, NotFound for a removed record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from opencasb.crypto import generate_key
from opencasb.errors import ConfigError, NotFound
from opencasb.logs import scrub_secrets
from opencasb.store import Store, open_store


@dataclass(frozen=True)
class Owner:
    """How one kind of record stores, finds, reads and removes its secrets."""

    table: str
    store_again: str  # the fix for secrets the master key cannot open
    add: Callable[[Store, str], Any]
    get: Callable[[Store], Any]
    read: Callable[[Store, Any], dict[str, str]]
    remove: Callable[[Store], None]


INSTANCE = Owner(
    table="instances",
    store_again="`opencasb apps edit NAME --new-secret`",
    add=lambda s, secret: s.add_instance("okta", "acme", {}, {"token": secret}),
    get=lambda s: s.get_instance("acme"),
    read=lambda s, rec: s.instance_secrets(rec),
    remove=lambda s: s.remove_instance("acme"),
)
NOTIFIER = Owner(
    table="notifiers",
    store_again="remove the notifier (`opencasb notifiers remove soc`) and add it again",
    add=lambda s, secret: s.notifications.add(
        "webhook", "soc", {"url": "https://soc.example/hook"}, {"token": secret}
    ),
    get=lambda s: s.notifications.get("soc"),
    read=lambda s, rec: s.notifications.secrets(rec),
    remove=lambda s: s.notifications.remove("soc"),
)


@pytest.fixture(params=[INSTANCE, NOTIFIER], ids=["instance", "notifier"])
def owner(request: pytest.FixtureRequest) -> Owner:
    return request.param  # type: ignore[no-any-return]


def _secret() -> str:
    return f"never-logged-{uuid.uuid4().hex}"  # unseen by the log filter until read


def test_sealed_in_the_table_and_opened_on_demand(store: Store, owner: Owner) -> None:
    secret = _secret()
    rec = owner.add(store, secret)
    assert secret not in repr(rec)
    with store.engine.connect() as conn:
        dump = conn.execute(text(f"SELECT * FROM {owner.table}")).all()
    assert secret not in repr(dump)
    assert owner.read(store, rec) == {"token": secret}


def test_read_secrets_are_masked_in_logs(store: Store, owner: Owner) -> None:
    secret = _secret()
    rec = owner.add(store, secret)
    assert scrub_secrets(f"sent {secret}") == f"sent {secret}"  # storing alone is not reading
    owner.read(store, rec)
    assert secret not in scrub_secrets(f"sent {secret}")


def test_another_master_key_is_a_config_error(store_url: str, store: Store, owner: Owner) -> None:
    secret = _secret()
    owner.add(store, secret)
    other = open_store(store_url, key=generate_key())
    try:
        with pytest.raises(ConfigError) as err:
            owner.read(other, owner.get(other))
        assert "master key" in err.value.fix and owner.store_again in err.value.fix
        assert err.value.code == "wrong_master_key"
        assert secret not in str(err.value)
    finally:
        other.close()


def test_a_removed_record_has_no_secrets(store: Store, owner: Owner) -> None:
    rec = owner.add(store, _secret())
    owner.remove(store)
    with pytest.raises(NotFound):
        owner.read(store, rec)
