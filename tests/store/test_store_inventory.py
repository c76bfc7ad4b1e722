"""Inventory: replaced wholesale per instance, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opencasb.errors import StoreError
from opencasb.model.inventory import Account, Group
from opencasb.store import Store

T = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ALICE = Account(
    "00u1",
    "alice@example.com",
    "Alice",
    "ACTIVE",
    True,
    ("SUPER_ADMIN",),
    T,
    T,
    {"id": "00u1", "profile": {"login": "alice@example.com"}},
)
BOB = Account("00u2", "bob@example.com", "Bob", "SUSPENDED")
ADMINS = Group("00g1", "Admins", "OKTA_GROUP", "the admins", ("00u2", "00u1"), {"id": "00g1"})
EMPTY = Group("00g2", "Empty")


def test_replace_and_list(store: Store) -> None:
    a = store.add_instance("okta", "acme", {}, {}).id
    b = store.add_instance("okta", "other", {}, {}).id
    store.replace_inventory(a, [BOB, ALICE], [EMPTY, ADMINS])
    store.replace_inventory(b, [ALICE], [])
    assert store.list_accounts(a) == [ALICE, BOB]
    assert store.list_groups(a) == [ADMINS, EMPTY]  # member order kept
    store.replace_inventory(a, [BOB], [])
    assert store.list_accounts(a) == [BOB]
    assert store.list_groups(a) == []
    assert store.list_accounts(b) == [ALICE]  # other instance untouched


def test_failed_replace_keeps_the_old_inventory(store: Store) -> None:
    a = store.add_instance("okta", "acme", {}, {}).id
    store.replace_inventory(a, [ALICE], [ADMINS])
    with pytest.raises(StoreError):
        store.replace_inventory(a, [BOB, BOB], [])  # duplicate primary key
    assert store.list_accounts(a) == [ALICE]
    assert store.list_groups(a) == [ADMINS]
