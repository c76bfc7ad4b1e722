"""The runner moves backfills to worker processes and stores exactly what it stores in-process."""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Cursor,
    Feed,
    FormField,
    Gap,
    Inventory,
    Page,
)
from opencasb.apps.okta.normalize import normalize
from opencasb.clock import FakeClock
from opencasb.errors import UpstreamError
from opencasb.formats.records import RawRecords
from opencasb.ingest import runner as runner_module
from opencasb.ingest.pipeline import IngestPipeline
from opencasb.ingest.runner import IngestRunner, PageEvent, RunResult
from opencasb.model import Activity, Health, HealthState
from opencasb.store import ActivityQuery, Store
from opencasb.store.codec import decode_body


def event(i: int) -> dict[str, Any]:
    """A small but real-shaped Okta System Log event number ``i``."""
    u = i % 3
    return {
        "uuid": f"evt-{i:04d}",
        "published": f"2026-11-02T09:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "outcome": {"result": "SUCCESS"},
        "actor": {"id": f"00u{u}", "type": "User", "alternateId": f"user{u}@example.com"},
        "client": {"ipAddress": f"198.51.100.{i % 250}"},
    }


def backfill() -> list[Page]:
    """Five pages behind (one with a gap, bad records and a duplicate), then caught up."""
    pages = [[event(p * 10 + i) for i in range(10)] for p in range(5)]
    pages[1][3] = {"uuid": "evt-broken", "published": "yesterday"}
    pages[2].append("not an object")  # type: ignore[arg-type]
    pages[3].append(event(0))  # re-delivered: a duplicate
    gap = Gap("AF20051", "a content blob", "it expired", "import it from an export")
    out = [
        Page(
            raws,
            {"page": n},
            progress=n / 6,
            newest_time=datetime(2026, 11, 2, 9, n, tzinfo=UTC),
            gaps=(gap,) if n == 2 else (),
        )
        for n, raws in enumerate(pages)
    ]
    out.append(Page([event(99)], {"page": 5}, progress=1.0, caught_up=True))
    return out


class ListFeed(Feed):
    name = "logs"

    def __init__(self, pages: list[Page], fail_after: int | None) -> None:
        self.pages = pages
        self.fail_after = fail_after

    def initial_cursor(self, now: datetime) -> Cursor:
        return {"page": None}

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        for n, page in enumerate(self.pages):
            if n == self.fail_after:
                raise UpstreamError("the API failed", fix="wait", app="okta")
            yield page


class ListConnector(AppConnector):
    NAME: ClassVar[str] = "list"
    TITLE: ClassVar[str] = "List"
    FORM: ClassVar[tuple[FormField, ...]] = ()

    def __init__(
        self, pages: list[Page], *, parallel: bool = True, fail_after: int | None = None
    ) -> None:
        super().__init__({}, {})
        self.pages = pages
        self.parallel = parallel
        self.fail_after = fail_after

    def test(self) -> ConnectionCheck:
        return ConnectionCheck(ok=True, summary="ok")

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        return [ListFeed(self.pages, self.fail_after)]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return normalize(raw)

    def normalizer(self) -> Any:
        return normalize if self.parallel else None

    def inventory(self) -> Inventory:
        return Inventory([], [])


class CountingPipeline(IngestPipeline[Any]):
    """The real pipeline, counting the pages put into it. Its workers are "up" only after
    ``not_ready`` more questions (then it waits for them), so which pages go through it
    does not depend on how fast processes start."""

    puts: ClassVar[list[Any]] = []
    not_ready: ClassVar[int] = 0

    def ready(self) -> bool:
        if CountingPipeline.not_ready > 0:
            CountingPipeline.not_ready -= 1
            return False
        self.warm_up()
        return True

    def put(self, *args: Any, **kwargs: Any) -> Any:
        CountingPipeline.puts.append(args[4])
        return super().put(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    CountingPipeline.puts = []
    CountingPipeline.not_ready = 0
    monkeypatch.setattr(runner_module, "IngestPipeline", CountingPipeline)
    return CountingPipeline.puts


def run(
    store: Store, name: str, connector: ListConnector, *, workers: int, after: int = 15
) -> tuple[RunResult, list[PageEvent]]:
    store.add_instance("okta", name, {}, {})
    events: list[PageEvent] = []
    runner = IngestRunner(
        store,
        clock=FakeClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC)),
        on_page=events.append,
        connector_factory=lambda _rec, _secrets: connector,
        workers=workers,
        pipeline_after=after,
    )
    return runner.run_once(name, inventory=False), events


def stored(store: Store, name: str) -> list[Activity]:
    items = store.query_activities(ActivityQuery(instance=name, limit=1000)).items
    return [dataclasses.replace(a, instance="") for a in items]


def quarantine(store: Store, name: str) -> list[tuple[str, str, str]]:
    iid = store.get_instance(name).id
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT feed, raw, error FROM rejected_records WHERE instance_id = :i ORDER BY id"
            ),
            {"i": iid},
        ).all()
    return [tuple(r) for r in rows]


def health(store: Store, name: str) -> Health:
    return store.get_health(store.get_instance(name).id)


def test_a_backfill_goes_through_workers_and_stores_what_in_process_stores(
    store: Store, counting: list[Any]
) -> None:
    pages = backfill()
    serial, serial_events = run(store, "serial", ListConnector(pages), workers=0)
    assert counting == []
    piped, piped_events = run(store, "piped", ListConnector(pages), workers=1)

    # Page 0 is stored in-process; page 1 brings the run to 20 records fetched, past the
    # threshold of 15, so it and the rest of the backfill go through the workers.
    assert [tag[1] for tag in counting] == pages[1:]
    assert stored(store, "piped") == stored(store, "serial")
    assert quarantine(store, "piped") == quarantine(store, "serial")
    gap = {
        "gap": {
            "code": "AF20051",
            "what": "a content blob",
            "meaning": "it expired",
            "fix": "import it from an export",
        }
    }
    assert [(raw, err) for _feed, raw, err in quarantine(store, "piped")] == [
        (
            '{"uuid":"evt-broken","published":"yesterday"}',
            "okta record evt-broken has no usable 'published' time (got 'yesterday')",
        ),
        ("not an object", "not a JSON object but str"),
        (json.dumps(gap, separators=(",", ":")), "AF20051: it expired"),
    ]
    assert dataclasses.replace(piped, instance="") == dataclasses.replace(serial, instance="")
    assert piped.rejected == 3 and piped.duplicates == 1 and piped.pages == 6
    assert store.get_cursor(store.get_instance("piped").id, "logs") == {"page": 5}
    assert health(store, "piped") == health(store, "serial")
    assert [dataclasses.replace(e, instance="") for e in piped_events] == [
        dataclasses.replace(e, instance="") for e in serial_events
    ]
    assert [e.page for e in piped_events] == pages
    # The garbage collector is back as it was.
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_pages_are_stored_here_while_the_workers_start(store: Store, counting: list[Any]) -> None:
    """The workers are started at the threshold but take a while to come up: the pages
    fetched meanwhile are stored in-process, the rest go through the workers, and the
    store ends as an all-in-process run leaves it."""
    pages = backfill()
    run(store, "serial", ListConnector(pages), workers=0)
    CountingPipeline.not_ready = 2  # pages 1 and 2 arrive before the workers are up
    piped, _events = run(store, "piped", ListConnector(pages), workers=1)
    assert [tag[1] for tag in counting] == pages[3:]
    assert stored(store, "piped") == stored(store, "serial")
    assert quarantine(store, "piped") == quarantine(store, "serial")
    assert store.get_cursor(store.get_instance("piped").id, "logs") == {"page": 5}
    assert piped.pages == 6 and piped.rejected == 3


def test_a_small_poll_stays_in_process(store: Store, counting: list[Any]) -> None:
    pages = backfill()
    caught_up = [pages[-1]]
    result, _ = run(store, "poll", ListConnector(caught_up), workers=1, after=0)
    assert result.ok and result.inserted == 1
    # Behind but below the threshold: also in-process.
    result, _ = run(store, "short", ListConnector(pages), workers=1, after=10_000)
    assert result.ok and result.pages == 6
    # An app without a picklable normalizer never uses workers.
    result, _ = run(store, "local", ListConnector(pages, parallel=False), workers=1, after=0)
    assert result.ok and result.pages == 6
    assert counting == []


def test_a_failure_mid_backfill_commits_the_pages_fetched_before_it(
    store: Store, counting: list[Any]
) -> None:
    pages = backfill()
    serial, _ = run(store, "serial", ListConnector(pages, fail_after=4), workers=0)
    piped, _ = run(store, "piped", ListConnector(pages, fail_after=4), workers=1, after=0)
    assert len(counting) == 4
    assert piped.error is not None and serial.error is not None
    assert piped.error.code == serial.error.code
    assert piped.pages == serial.pages == 4
    assert stored(store, "piped") == stored(store, "serial")
    assert store.get_cursor(store.get_instance("piped").id, "logs") == {"page": 3}
    assert health(store, "piped") == health(store, "serial")


def test_a_bug_mid_run_is_an_error_in_health_not_an_exception(
    store: Store, counting: list[Any]
) -> None:
    class BuggyFeed(ListFeed):
        def fetch(self, cursor: Cursor) -> Iterator[Page]:
            yield from self.pages[:2]
            raise KeyError("a bug")

    class BuggyConnector(ListConnector):
        def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
            return [BuggyFeed(self.pages, None)]

    result, _ = run(store, "buggy", BuggyConnector(backfill()), workers=0)
    assert result.error is not None and result.error.code == "internal_error"
    assert "internal error: KeyError: 'a bug'" in str(result.error)
    h = health(store, "buggy")
    assert h.state is HealthState.ERROR
    assert h.last_error is not None and h.last_error.code == "internal_error"
    # The pages before the failure stay committed, with their cursor.
    assert store.get_cursor(store.get_instance("buggy").id, "logs") == {"page": 1}


def as_fetched(pages: list[Page]) -> list[Page]:
    """``pages`` as a feed yields them from a response body: RawRecords over texts that are
    not orjson's (spaces after separators), as an API may format them."""
    return [
        dataclasses.replace(p, raw_events=RawRecords.split(json.dumps(p.raw_events).encode()))
        for p in pages
    ]


def raw_column(store: Store, name: str) -> list[str]:
    iid = store.get_instance(name).id
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT body FROM activities WHERE instance_id = :i ORDER BY id"), {"i": iid}
        ).all()
    return [decode_body(r[0])[1].decode() for r in rows]


def test_pages_of_record_texts_store_what_parsed_pages_store_and_keep_the_texts(
    store: Store, counting: list[Any]
) -> None:
    parsed, _ = run(store, "parsed", ListConnector(backfill()), workers=0)
    here, _ = run(store, "here", ListConnector(as_fetched(backfill())), workers=0)
    piped, _ = run(store, "piped", ListConnector(as_fetched(backfill())), workers=1)

    assert len(counting) == 5  # "piped" put pages 1-5 through the workers
    for name, result in (("here", here), ("piped", piped)):
        assert stored(store, name) == stored(store, "parsed")
        assert dataclasses.replace(result, instance="") == dataclasses.replace(parsed, instance="")
    # The quarantine and the raw column hold each record's text as fetched, in both paths,
    # where a parsed page's records are serialized by the store (the gap's entry is its own).
    texts = quarantine(store, "here")
    assert texts == quarantine(store, "piped")
    assert [raw for _feed, raw, _error in texts[:2]] == [
        '{"uuid": "evt-broken", "published": "yesterday"}',
        '"not an object"',
    ]
    assert [(f, e) for f, _raw, e in texts] == [(f, e) for f, _, e in quarantine(store, "parsed")]
    assert texts[2] == quarantine(store, "parsed")[2]
    # The first copy of event 0 is the one kept (its re-delivery is a duplicate).
    kept: dict[str, str] = {}
    for page in backfill():
        for r in page.raw_events:
            if isinstance(r, dict) and r["uuid"] != "evt-broken":
                kept.setdefault(r["uuid"], json.dumps(r))
    assert raw_column(store, "here") == raw_column(store, "piped") == list(kept.values())
    assert raw_column(store, "parsed") != list(kept.values())  # orjson's compact text
