"""End-to-end ingest benchmark: ``IngestRunner.run_once`` over a feed of in-memory pages.

Usage:
    .venv/bin/python bench/bench_ingest.py [--events 100000] [--page 1000] [--rounds 3]
        [--workers N] [--apps okta,office365]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg] [--dir /tmp]

Okta events come from the synthetic organisation's System Log generator (2,000 people).
Office 365 records are the real samples in ``shared/samples/office365`` replicated, each
copy with a fresh ``Id`` and its own ``CreationTime``.

Each round runs a real :class:`~opencasb.ingest.runner.IngestRunner` into a fresh store. The
instance's connector has one feed whose pages are held as JSON text (as on the wire) and
split into records by the feed when it yields them, as the Okta and Office 365 feeds split
a response (:class:`~opencasb.formats.records.RawRecords`, with the same head fields decoded).
Only the HTTP round trips are left out, so the clock covers everything the sync process
does per page: splitting, normalizing, storing each page with its cursor, health, and --
once the run has fetched ``pipeline_after`` records of a backfill -- starting the worker
processes and feeding them (``--workers``, default: the runner's own choice here).

Two figures per app and engine, each the best of ``--rounds`` (the machine may be shared;
the least disturbed round is the closest to the code's own speed), with the load average
so that a disturbed figure can be recognised:

* ``ingest <app> <engine>: N events/s`` (``records/s`` for Office 365): the runner as
  ``opencasb sync`` runs it, worker start-up included;
* in-process: the same runner with ``workers=0``, every page normalized and stored in the
  sync's process.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
import psycopg

from opencasb.apps.base import (
    AppConnector,
    ConnectionCheck,
    Cursor,
    Feed,
    FormField,
    Inventory,
    Page,
)
from opencasb.apps.office365.activity_api import HEAD as O365_HEAD
from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.crypto import generate_key
from opencasb.formats.records import RawRecords
from opencasb.ingest.runner import PIPELINE_AFTER, IngestRunner, default_workers
from opencasb.model import Activity
from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.org import build_org
from opencasb.store import Store, open_store

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: a working week has the most traffic


Normalize = Callable[[Mapping[str, Any]], Activity]


@dataclass(frozen=True)
class App:
    """One app under test: its normalizer, the unit it counts, the fields its feed decodes
    from each record (as the app's own feed does), and the cursor after a page's last
    record (from that record's head)."""

    name: str
    normalize: Normalize
    unit: str
    head: tuple[str, ...]
    cursor: Callable[[dict[str, Any]], dict[str, Any]]


APPS = {
    "okta": App(
        "okta",
        normalize_okta,
        "events",
        ("published", "uuid"),
        lambda last: {"since": last["published"], "after": last["uuid"]},
    ),
    "office365": App(
        "office365",
        normalize_o365,
        "records",
        O365_HEAD,
        lambda last: {"content_created": last["CreationTime"]},
    ),
}


def okta_records(count: int) -> list[dict[str, Any]]:
    """``count`` generated System Log events."""
    org = build_org(7, 2000)
    raws: list[dict[str, Any]] = []
    for event, _persisted in generate_events(org, START, START + timedelta(days=60)):
        raws.append(event)
        if len(raws) >= count:
            break
    return raws


def office365_records(count: int) -> list[dict[str, Any]]:
    """``count`` audit records: the samples over and over, each copy with a fresh ``Id`` and
    a ``CreationTime`` one to sixty seconds after the previous record's."""
    samples = [
        orjson.loads(line)
        for path in sorted((SAMPLES / "office365").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]
    raws: list[dict[str, Any]] = []
    at = START.replace(tzinfo=None)
    for i in range(count):
        record = dict(samples[i % len(samples)])
        at += timedelta(seconds=1 + (i * 7919) % 60)
        record["Id"] = str(uuid.uuid4())
        record["CreationTime"] = at.isoformat(timespec="seconds")
        raws.append(record)
    return raws


def make_pages(app: str, events: int, page: int) -> list[bytes]:
    """``events`` records of ``app`` cut into pages, each page a JSON array as on the wire."""
    raws = okta_records(events) if app == "okta" else office365_records(events)
    return [orjson.dumps(raws[i : i + page]) for i in range(0, len(raws), page)]


class PagesFeed(Feed):
    """The pages of one benchmark run, parsed as they are fetched."""

    name = "logs"

    def __init__(self, app: App, pages: list[bytes]) -> None:
        self._app = app
        self._pages = pages

    def initial_cursor(self, now: datetime) -> Cursor:
        return {}

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        for i, body in enumerate(self._pages):
            raws = RawRecords.split(body, self._app.head)
            last = i == len(self._pages) - 1
            head = raws.head(len(raws) - 1)
            assert head is not None
            yield Page(
                raws,
                self._app.cursor(head),
                progress=1.0 if last else i / len(self._pages),
                caught_up=last,
            )


class BenchConnector(AppConnector):
    """A connector whose only feed is :class:`PagesFeed`, normalizing as ``app`` does."""

    NAME: ClassVar[str] = "bench"
    TITLE: ClassVar[str] = "Benchmark"
    FORM: ClassVar[tuple[FormField, ...]] = ()

    def __init__(self, app: App, pages: list[bytes]) -> None:
        super().__init__({}, {})
        self.app = app
        self.pages = pages

    def test(self) -> ConnectionCheck:
        return ConnectionCheck(ok=True, summary="benchmark")

    def feeds(self, options: Mapping[str, Any] | None = None) -> list[Feed]:
        return [PagesFeed(self.app, self.pages)]

    def normalize(self, raw: Mapping[str, Any]) -> Activity:
        return self.app.normalize(raw)

    def normalizer(self) -> Normalize:
        return self.app.normalize

    def inventory(self) -> Inventory:
        return Inventory([], [])


def ingest(store: Store, app: App, pages: list[bytes], workers: int | None) -> float:
    """Seconds for one ``run_once`` of a fresh instance over ``pages``."""
    name = f"bench-{uuid.uuid4().hex[:6]}"
    iid = store.add_instance(app.name, name, {}, {}).id
    runner = IngestRunner(
        store, workers=workers, connector_factory=lambda _rec, _secrets: BenchConnector(app, pages)
    )
    gc.collect()  # the previous round's garbage, so that it is not collected on the clock
    began = time.perf_counter()
    result = runner.run_once(name, inventory=False)
    elapsed = time.perf_counter() - began
    if result.error is not None:
        raise SystemExit(f"the run failed: {result.error}")
    n = sum(len(orjson.loads(page)) for page in pages)
    if store.count_activities(iid) != n or result.inserted != n:
        raise SystemExit(f"stored {store.count_activities(iid)} activities, expected {n}")
    return elapsed


def best_of(
    rounds: int,
    fresh_store: Callable[[], Store],
    app: App,
    pages: list[bytes],
    workers: int | None,
) -> float:
    """The best seconds of ``rounds`` runs, each into a fresh store."""
    best = float("inf")
    for _ in range(rounds):
        store = fresh_store()
        try:
            best = min(best, ingest(store, app, pages, workers))
        finally:
            store.close()
    return best


def report(
    app: App,
    engine: str,
    rounds: int,
    fresh: Callable[[], Store],
    pages: list[bytes],
    workers: int | None,
) -> None:
    n = sum(len(orjson.loads(page)) for page in pages)
    runner = n / best_of(rounds, fresh, app, pages, workers)
    serial = n / best_of(rounds, fresh, app, pages, 0)
    how = f"{default_workers() if workers is None else workers} worker processes after "
    how += f"{PIPELINE_AFTER:,} records"
    print(f"ingest {app.name} {engine}: {runner:,.0f} {app.unit}/s (the runner: {how})")
    print(f"    in-process: {serial:,.0f} {app.unit}/s")


@contextmanager
def pg_stores(url: str, key: bytes) -> Iterator[Callable[[], Store]]:
    """A factory of stores, each in a fresh PostgreSQL schema dropped at the end."""
    dsn = url.replace("+psycopg", "")
    schemas: list[str] = []

    def fresh() -> Store:
        schema = "bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return open_store(f"{url}?options=-csearch_path%3D{schema}", key=key)

    try:
        yield fresh
    finally:
        with psycopg.connect(dsn, autocommit=True) as c:
            for schema in schemas:
                c.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--page", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=None, help="default: the runner's choice")
    p.add_argument("--apps", default="okta,office365")
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--dir", default=None, help="where to put the SQLite files")
    args = p.parse_args()
    key = generate_key()

    for name in args.apps.split(","):
        app = APPS[name]
        pages = make_pages(name, args.events, args.page)
        gc.collect()  # the generator's garbage, so that it is not collected on the clock
        n = sum(len(orjson.loads(pg)) for pg in pages)
        size = sum(len(pg) for pg in pages) / n
        print(f"{name}: {n:,} {app.unit} in pages of {args.page} (raw JSON {size:,.0f} bytes)")
        print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            counter = iter(range(1_000_000))

            def sqlite_store() -> Store:
                db = Path(tmp) / f"ingest{next(counter)}.db"  # noqa: B023 - used in the loop
                return open_store(f"sqlite:///{db}", key=key)

            report(app, "sqlite", args.rounds, sqlite_store, pages, args.workers)
        if not args.no_pg:
            with pg_stores(args.pg, key) as pg_store:
                report(app, "postgresql", args.rounds, pg_store, pages, args.workers)
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
