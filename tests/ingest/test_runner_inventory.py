"""The runner fetches an instance's inventory beside its feeds, and stores it after them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Cursor,
    Feed,
    FormField,
    Inventory,
    Page,
)
from opencasb.apps.okta.normalize import normalize
from opencasb.clock import FakeClock
from opencasb.errors import UpstreamError
from opencasb.ingest.runner import IngestRunner, RunResult
from opencasb.model import Account, Activity, HealthState
from opencasb.store import Store

WAIT = 10.0  # seconds a side waits for the other before it calls the run sequential


def event(i: int) -> dict[str, Any]:
    return {
        "uuid": f"evt-{i:04d}",
        "published": f"2026-11-02T09:00:{i % 60:02d}.000Z",
        "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS"},
        "actor": {"id": "00u1", "type": "User", "alternateId": "user1@example.com"},
    }


class Rendezvous:
    """The feed's first page and the inventory meet: possible only if they run at once."""

    def __init__(self) -> None:
        self.feed_started = threading.Event()
        self.inventory_started = threading.Event()
        self.inventory_done = threading.Event()
        self.closed_after_inventory: bool | None = None


class MeetingFeed(Feed):
    name = "logs"

    def __init__(self, meet: Rendezvous, fail: bool) -> None:
        self.meet = meet
        self.fail = fail

    def initial_cursor(self, now: datetime) -> Cursor:
        return {"page": None}

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        self.meet.feed_started.set()
        if not self.meet.inventory_started.wait(WAIT):
            raise AssertionError("the inventory did not start while the feed ran")
        yield Page([event(1), event(2)], {"page": 1})
        if self.fail:
            raise UpstreamError("the API failed", fix="wait", app="okta")
        yield Page([event(3)], {"page": 2}, progress=1.0, caught_up=True)


class MeetingConnector(AppConnector):
    NAME: ClassVar[str] = "meeting"
    TITLE: ClassVar[str] = "Meeting"
    FORM: ClassVar[tuple[FormField, ...]] = ()

    def __init__(self, *, feed_fails: bool = False, inventory_fails: bool = False) -> None:
        super().__init__({}, {})
        self.meet = Rendezvous()
        self.feed_fails = feed_fails
        self.inventory_fails = inventory_fails

    def test(self) -> ConnectionCheck:
        return ConnectionCheck(ok=True, summary="ok")

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        return [MeetingFeed(self.meet, self.feed_fails)]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return normalize(raw)

    def normalizer(self) -> Any:
        return None

    def inventory(self) -> Inventory:
        self.meet.inventory_started.set()
        try:
            if not self.meet.feed_started.wait(WAIT):
                raise AssertionError("the feed did not start while the inventory ran")
            if self.inventory_fails:
                raise UpstreamError("the Users API failed", fix="wait", app="okta")
            return Inventory([Account("00u1", "a@example.com", "A", "ACTIVE")], [])
        finally:
            self.meet.inventory_done.set()

    def close(self) -> None:
        self.meet.closed_after_inventory = self.meet.inventory_done.is_set()


def run(store: Store, connector: MeetingConnector) -> RunResult:
    store.add_instance("okta", "meet", {}, {})
    runner = IngestRunner(
        store,
        clock=FakeClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC)),
        connector_factory=lambda _rec, _secrets: connector,
        workers=0,
    )
    return runner.run_once("meet", inventory=True)


def test_the_inventory_is_fetched_while_the_feed_runs(store: Store) -> None:
    connector = MeetingConnector()
    result = run(store, connector)
    assert result.ok, result.error
    iid = store.get_instance("meet").id
    assert store.count_activities(iid) == 3
    assert [a.id for a in store.list_accounts(iid)] == ["00u1"]
    assert connector.meet.closed_after_inventory is True


def test_a_failed_inventory_fails_the_run_after_the_feed_is_stored(store: Store) -> None:
    result = run(store, MeetingConnector(inventory_fails=True))
    assert not result.ok and "Users API" in str(result.error)
    iid = store.get_instance("meet").id
    assert store.count_activities(iid) == 3
    assert store.list_accounts(iid) == []
    assert store.get_health(iid).state is HealthState.DEGRADED


def test_a_failed_feed_waits_for_the_inventory_before_closing_the_connector(
    store: Store,
) -> None:
    connector = MeetingConnector(feed_fails=True)
    result = run(store, connector)
    assert not result.ok and "the API failed" in str(result.error)
    iid = store.get_instance("meet").id
    assert store.count_activities(iid) == 2  # the page before the failure is kept
    assert store.list_accounts(iid) == []  # the run failed: its inventory is not stored
    assert connector.meet.closed_after_inventory is True
