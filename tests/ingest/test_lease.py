"""Two syncs of one instance: the second is told who holds it, waits or stops; counts stay
true (two Store objects on one database, one fake clock)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from opencasb.apps.base import HttpOptions
from opencasb.crypto import generate_key
from opencasb.errors import InstanceBusy
from opencasb.ingest.lease import LEASE_TTL, hold
from opencasb.ingest.runner import IngestRunner
from opencasb.model import Health, HealthState
from opencasb.store import open_store

from .conftest import Org

MakeOrg = Callable[..., Org]


@pytest.fixture
def two(make_org: MakeOrg, tmp_path: Path) -> Iterator[tuple[Org, Org]]:
    """The same org seen by two processes: two Stores on one database, the org's clock."""
    org = make_org(size=50, days=2)
    key = generate_key()
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = open_store(url, key=key, clock=org.clock)
    b = open_store(url, key=key, clock=org.clock)
    try:
        yield dataclasses.replace(org, store=a), dataclasses.replace(org, store=b)
    finally:
        a.close()
        b.close()


def _runner(org: Org, holder: str, **kw: object) -> IngestRunner:
    http = HttpOptions(transport=org.transport, clock=org.clock)
    return IngestRunner(org.store, http=http, holder=holder, workers=0, **kw)  # type: ignore[arg-type]


def test_a_second_sync_is_told_who_holds_the_instance(two: tuple[Org, Org]) -> None:
    a, b = two
    iid = a.connect()
    with hold(a.store, iid, "okta", clock=a.clock, holder="111@host-a"):
        before = b.store.get_health(iid)
        result = _runner(b, "222@host-b").run_once("okta")
        assert isinstance(result.error, InstanceBusy)
        assert result.error.holder == "111@host-a"
        assert "111@host-a" in str(result.error) and "--wait" in result.error.fix
        assert result.pages == 0
        assert b.store.count_activities(iid) == 0
        assert b.store.get_health(iid) == before  # the holder's to write, not this run's
    # Released: the other process may sync now.
    assert _runner(b, "222@host-b").run_once("okta").ok
    assert b.store.current_lease(iid) is None


def test_wait_takes_over_when_the_holder_died(two: tuple[Org, Org]) -> None:
    a, b = two
    iid = a.connect()
    assert a.store.acquire_lease(iid, "111@host-a", LEASE_TTL) is None  # then it dies
    told: list[InstanceBusy] = []
    start = a.clock.now()
    result = _runner(b, "222@host-b", wait_for_lease=True, on_wait=told.append).run_once("okta")
    assert result.ok, result.error
    assert [t.holder for t in told] == ["111@host-a"]
    assert a.clock.now() - start >= LEASE_TTL  # waited for the dead holder's lease to lapse
    assert b.store.count_activities(iid) > 0


def test_counts_come_from_committed_rows(two: tuple[Org, Org]) -> None:
    a, b = two
    iid = a.connect()
    assert _runner(a, "111@host-a").run_once("okta").ok
    stored = a.store.count_activities(iid)
    # Health written by another process that counted wrong (the race this replaced).
    wrong = dataclasses.replace(a.store.get_health(iid), events_stored=5, rejected=7)
    b.store.set_health(iid, wrong)
    a.clock.advance(120)
    result = _runner(b, "222@host-b").run_once("okta")
    assert result.ok
    health = a.store.get_health(iid)
    assert health.events_stored == stored + result.inserted == a.store.count_activities(iid)
    assert health.rejected == a.store.count_rejected(iid) == 0


def test_a_lost_lease_stops_the_run_without_touching_health(
    two: tuple[Org, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two
    iid = a.connect()
    runner = _runner(a, "111@host-a")
    taken: list[bool] = []

    def page(_: object) -> None:
        # After the first page, the lease lapses (a long stall) and another process takes it.
        if not taken:
            taken.append(True)
            a.clock.advance(LEASE_TTL.total_seconds() + 1)
            assert b.store.acquire_lease(iid, "222@host-b", LEASE_TTL) is None
            b.store.set_health(iid, Health(state=HealthState.BACKFILLING))

    runner.on_page = page
    result = runner.run_once("okta")
    assert isinstance(result.error, InstanceBusy) and result.error.holder == "222@host-b"
    assert result.pages == 1
    assert a.store.get_health(iid) == Health(state=HealthState.BACKFILLING)
    lease = a.store.current_lease(iid)
    assert lease is not None and lease.holder == "222@host-b"  # not released by the loser
    assert a.clock.now() - lease.acquired < timedelta(seconds=1)


def test_a_dead_process_of_this_host_is_taken_over_at_once(two: tuple[Org, Org]) -> None:
    """A sync killed with SIGKILL leaves its lease behind; the restart must not wait for it
    (the e2e kill tests restart at once)."""
    import socket
    import subprocess
    import sys

    a, b = two
    iid = a.connect()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{gone.stdout.strip()}@{socket.gethostname()}"
    assert a.store.acquire_lease(iid, dead, LEASE_TTL) is None  # then it is killed
    start = a.clock.now()
    result = _runner(b, "222@host-b").run_once("okta")
    assert result.ok, result.error
    assert a.clock.now() - start < LEASE_TTL
    assert b.store.count_activities(iid) > 0


def test_a_live_process_of_this_host_is_not_taken_over(two: tuple[Org, Org]) -> None:
    import os
    import socket

    a, b = two
    iid = a.connect()
    parent = f"{os.getppid()}@{socket.gethostname()}"  # alive: it runs these tests
    assert a.store.acquire_lease(iid, parent, LEASE_TTL) is None
    result = _runner(b, "222@host-b").run_once("okta")
    assert isinstance(result.error, InstanceBusy)
    assert result.error.holder == parent
