"""Sync leases: one holder per instance, across Store objects on one database, both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from opencasb.clock import FakeClock
from opencasb.store import Store, open_store

from .conftest import KEY

TTL = timedelta(minutes=5)


@pytest.fixture
def other(store_url: str, clock: FakeClock, store: Store) -> Iterator[Store]:
    """A second Store on the same database (another process, as far as the store knows)."""
    s = open_store(store_url, key=KEY, clock=clock)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def iid(store: Store) -> int:
    return store.add_instance("okta", "acme", {}, {}).id


def test_second_holder_is_refused_and_told_who_holds(store: Store, other: Store, iid: int) -> None:
    assert store.acquire_lease(iid, "100@a", TTL) is None
    lease = other.acquire_lease(iid, "200@b", TTL)
    assert lease is not None
    assert lease.holder == "100@a"
    assert lease.expires == lease.acquired + TTL
    assert other.current_lease(iid) == lease


def test_the_holder_may_take_it_again(store: Store, iid: int, clock: FakeClock) -> None:
    assert store.acquire_lease(iid, "100@a", TTL) is None
    first = store.current_lease(iid)
    clock.advance(60)
    assert store.acquire_lease(iid, "100@a", TTL) is None
    again = store.current_lease(iid)
    assert first is not None and again is not None
    assert again.acquired == first.acquired  # the original start is kept
    assert again.expires == first.expires + timedelta(seconds=60)


def test_expired_lease_is_taken_over(
    store: Store, other: Store, iid: int, clock: FakeClock
) -> None:
    assert store.acquire_lease(iid, "100@a", TTL) is None
    clock.advance(TTL.total_seconds() - 1)
    assert other.acquire_lease(iid, "200@b", TTL) is not None
    clock.advance(1)
    assert other.acquire_lease(iid, "200@b", TTL) is None
    # The old holder learns that it lost the lease, and cannot release the new one.
    assert store.renew_lease(iid, "100@a", TTL) is False
    store.release_lease(iid, "100@a")
    lease = store.current_lease(iid)
    assert lease is not None and lease.holder == "200@b"


def test_renew_extends_and_release_frees(
    store: Store, other: Store, iid: int, clock: FakeClock
) -> None:
    assert store.acquire_lease(iid, "100@a", TTL) is None
    clock.advance(TTL.total_seconds() - 1)
    assert store.renew_lease(iid, "100@a", TTL) is True
    clock.advance(2)
    assert other.acquire_lease(iid, "200@b", TTL) is not None  # renewed: still held
    store.release_lease(iid, "100@a")
    assert store.current_lease(iid) is None
    assert other.acquire_lease(iid, "200@b", TTL) is None


def test_leases_are_per_instance_and_go_with_it(store: Store, other: Store, iid: int) -> None:
    second = store.add_instance("okta", "second", {}, {}).id
    assert store.acquire_lease(iid, "100@a", TTL) is None
    assert other.acquire_lease(second, "200@b", TTL) is None
    store.remove_instance("acme")
    assert store.current_lease(iid) is None
    assert store.current_lease(second) is not None
