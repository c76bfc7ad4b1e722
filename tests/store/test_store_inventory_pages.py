"""Accounts, people and groups keyset-paged in SQL, and alerts too: every item once, in a
fixed order, whatever the page size; the filters; the person key's migration."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from opencasb.clock import FakeClock
from opencasb.errors import NotFound, StoreError
from opencasb.model.inventory import Account, Group
from opencasb.store import Store, open_store
from opencasb.store.detection import AlertWrite
from opencasb.store.engine import migration_config

from .conftest import KEY, T0


def _walk(fetch: Callable[[Any], Any]) -> tuple[list[Any], int]:
    """Every item of every page from the first (``after`` None); and the pages read."""
    items: list[Any] = []
    after, pages = None, 0
    while True:
        page = fetch(after)
        items += page.items
        pages += 1
        if page.next is None:
            return items, pages
        after = page.next


def _inventory(store: Store) -> tuple[int, int]:
    """Two instances: 45 Okta and 30 Office 365 accounts, 20 of them the same people by
    e-mail in another case; 5 accounts without an e-mail; admins every 7th; 23 groups."""
    okta = store.add_instance("okta", "okta", {}, {}).id
    o365 = store.add_instance("office365", "m365", {}, {}).id
    okta_accounts = [
        Account(
            f"00u{i:03d}",
            f"user{i}@example.com" if i < 40 else None,
            f"User {i}",
            "ACTIVE",
            i % 7 == 0,
            ("SUPER_ADMIN",) if i % 7 == 0 else (),
        )
        for i in range(45)
    ]
    o365_accounts = [
        Account(
            f"guid-{i:03d}",
            f"USER{i}@Example.com" if i < 20 else f"m{i}@example.com",
            f"Person {i}",
            "enabled",
        )
        for i in range(30)
    ]
    groups = [
        Group(f"00g{i:02d}", f"Group {i}", member_ids=tuple(f"00u{j:03d}" for j in range(i, 45, 9)))
        for i in range(23)
    ]
    store.replace_inventory(okta, okta_accounts, groups)
    store.replace_inventory(o365, o365_accounts, [])
    return okta, o365


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_accounts_people_and_groups_page_through_every_item_once(store: Store, limit: int) -> None:
    _okta, o365 = _inventory(store)
    inv = store.inventory

    accounts, pages = _walk(lambda after: inv.page_accounts(limit=limit, after=after))
    keys = [(e.instance_id, e.account.id) for e in accounts]
    assert len(keys) == len(set(keys)) == 75 and keys == sorted(keys)
    assert pages == -(-75 // limit)
    first = next(e for e in accounts if e.account.id == "00u009")
    assert first.instance == "okta" and first.groups == ("Group 0", "Group 9")

    people, _ = _walk(lambda after: inv.page_people(limit=limit, after=after))
    assert len(people) == len({p.key for p in people}) == 75 - 20
    shared = next(p for p in people if p.key == "user3@example.com")
    assert [(e.instance, e.account.id) for e in shared.accounts] == [
        ("okta", "00u003"),
        ("m365", "guid-003"),
    ]
    assert {p.key for p in people if len(p.accounts) == 1} >= {"okta:00u044"}

    grps, _ = _walk(lambda after: inv.page_groups(limit=limit, after=after))
    assert [g.group.id for g in grps] == [f"00g{i:02d}" for i in range(23)]
    assert grps[1].group.member_ids == ("00u001", "00u010", "00u019", "00u028", "00u037")
    assert inv.page_groups(instance_id=o365).items == []


def test_filters_and_totals(store: Store) -> None:
    _okta, o365 = _inventory(store)
    inv = store.inventory
    admins, _ = _walk(lambda after: inv.page_accounts(admins=True, limit=2, after=after))
    assert [e.account.id for e in admins] == [f"00u{i:03d}" for i in range(0, 45, 7)]
    page = inv.page_accounts(q="user1", limit=3)
    assert page.total == 1 + 10 + 1 + 10  # user1, user1x (okta), USER1, USER1x (o365)
    assert len(page.items) == 3 and page.next is not None
    assert inv.page_accounts(instance_id=o365, limit=1).total == 30
    # a person matches when any account does; is an admin when any account is
    people = inv.page_people(q="Person 14", admins=True).items
    assert [p.key for p in people] == ["user14@example.com"]
    assert inv.page_people(q="100%_").items == []  # LIKE's wildcards are plain text
    assert inv.get_person("user14@example.com").accounts[1].account.id == "guid-014"
    with pytest.raises(NotFound):
        inv.get_person("nobody")


def test_replacing_an_inventory_of_a_removed_instance_stores_nothing(store: Store) -> None:
    iid = store.add_instance("okta", "gone", {}, {}).id
    store.remove_instance("gone")
    with pytest.raises(StoreError, match="not stored"):
        store.replace_inventory(iid, [Account("1", "a@example.com", "A", "ACTIVE")], [])
    assert store.inventory.page_accounts().items == []


def _alert(i: int, last: int) -> AlertWrite:
    t = T0 + timedelta(minutes=last)
    sev = ("low", "high")[i % 2]
    return AlertWrite(f"al-{i:03d}", f"p{i % 3}", f"alert {i}", sev, "c", None,
                      f"user{i % 4}@example.com", "x", (i,), t, t, False)  # fmt: skip


@pytest.mark.parametrize("limit", [1, 4, 50])
def test_alerts_page_newest_first_with_ties(store: Store, limit: int) -> None:
    # 30 alerts over 10 distinct times: the id breaks each tie
    writes = [_alert(i, i % 10) for i in range(30)]
    store.detection.commit_stage(
        "t", expected=None, cursor=1, state="{}", new_alerts=writes, disabled={}
    )
    det = store.detection
    got, _ = _walk(lambda after: det.page_alerts(limit=limit, after=after))
    assert [a.id for a in got] == [
        a.id for a in sorted(writes, key=lambda a: (-a.last_time.timestamp(), a.id))
    ]
    high, _ = _walk(lambda after: det.page_alerts(severity="high", limit=limit, after=after))
    assert [a.id for a in high] == [a.id for a in got if a.severity == "high"]
    p1, _ = _walk(lambda after: det.page_alerts(policy_id="p1", limit=limit, after=after))
    assert {a.id for a in p1} == {f"al-{i:03d}" for i in range(1, 30, 3)}
    who = det.page_alerts(entities=["user1@example.com"], limit=100).items
    assert len(who) == 8 and {a.entity for a in who} == {"user1@example.com"}
    assert det.count_alerts_by("policy_id") == {"p0": 10, "p1": 10, "p2": 10}
    det.close_alert("al-000", "benign")
    assert det.count_alerts_by("severity", status="open") == {"low": 14, "high": 15}


def test_the_migration_fills_the_person_key(store_url: str, clock: FakeClock) -> None:
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(migration_config(conn), "0008")
        conn.execute(
            sa.text(
                "INSERT INTO instances (id, name, app, config, secrets_enc, enabled, "
                "interval_seconds, created_at) VALUES (1, 'okta', 'okta', '{}', '', true, 60, 0)"
            )
        )
        for account_id, email in (("00u1", "Ann@Example.COM"), ("00u2", None), ("00u3", "")):
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (instance_id, id, email, name, status, is_admin, "
                    "admin_roles, raw) VALUES (1, :id, :email, 'n', 'ACTIVE', false, '[]', '{}')"
                ),
                {"id": account_id, "email": email},
            )
    engine.dispose()
    store = open_store(store_url, key=KEY, clock=clock)
    try:
        keys = [e.person_key for e in store.inventory.page_accounts().items]
        assert keys == ["ann@example.com", "okta:00u2", "okta:00u3"]
    finally:
        store.close()
