"""IngestPipeline: worker processes normalize and encode, this process stores, in page order."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from opencasb.apps.okta.normalize import normalize
from opencasb.errors import StoreError
from opencasb.formats.records import RawRecords
from opencasb.ingest.pipeline import IngestPipeline, encode_page, page_write
from opencasb.ingest.runner import normalize_all
from opencasb.model import Activity
from opencasb.store import ActivityQuery, PageWrite, SaveResult, Store
from opencasb.store.codec import decode_body


def event(i: int, *, user: int | None = None) -> dict[str, Any]:
    """A small but real-shaped Okta System Log event number ``i``."""
    u = i % 3 if user is None else user
    return {
        "uuid": f"evt-{i:04d}",
        "published": f"2026-11-02T09:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "outcome": {"result": "SUCCESS"},
        "actor": {
            "id": f"00u{u}",
            "type": "User",
            "alternateId": f"user{u}@example.com",
            "displayName": f"User {u}",
        },
        "client": {"ipAddress": f"198.51.100.{i % 250}", "zone": "null"},
        "authenticationContext": {"externalSessionId": f"s{i}"},
    }


def stored(store: Store, name: str) -> list[Activity]:
    items = store.query_activities(ActivityQuery(instance=name, limit=1000)).items
    return [dataclasses.replace(a, instance="") for a in items]


def test_encode_page_quarantines_what_normalize_all_quarantines() -> None:
    records = [event(0), {"uuid": "no-time"}, event(2)]
    texts = [orjson.dumps(r).decode() for r in records] + ["[1, 2]"]
    page = encode_page(normalize, 7, RawRecords(texts))
    _, rejected = normalize_all(normalize, [*records, [1, 2]])
    assert page.positions == [0, 2]
    assert [error for _, error in page.rejected or ()] == [error for _, error in rejected]
    assert [i for i, _ in page.rejected or ()] == [1, 3]
    # the bodies keep the texts as fetched
    assert [decode_body(b)[1] for b in page.raws or ()] == [texts[0].encode(), texts[2].encode()]
    assert page.actors == [
        ("00u0", "user0@example.com", "user 0"),
        ("00u2", "user2@example.com", "user 2"),
    ]
    assert page.actor_of_row == [0, 1]
    assert all(row[0] == 7 for row in page.rows)


def test_pipeline_stores_what_the_runner_stores_in_page_order(store: Store) -> None:
    serial = store.add_instance("okta", "serial", {}, {}).id
    piped = store.add_instance("okta", "piped", {}, {}).id
    pages = [[event(p * 10 + i) for i in range(10)] for p in range(5)]
    pages[2][4] = {"uuid": "evt-broken", "published": "yesterday"}
    pages[3].append("not an object")  # type: ignore[arg-type]
    for n, records in enumerate(pages):
        activities, rejected = normalize_all(normalize, records)
        store.save_pages([PageWrite.of(serial, "logs", activities, {"page": n}, rejected=rejected)])

    done = []
    with IngestPipeline[int](store, normalize, workers=1, ahead=2, group=1) as pipeline:
        for n, records in enumerate(pages):
            committed = pipeline.put(piped, "logs", records, {"page": n}, n)
            # Two pages stay in flight; the third put commits the first, and so on.
            assert [d.tag for d in committed] == ([] if n < 2 else [n - 2])
            done += committed
        assert store.get_cursor(piped, "logs") == {"page": 2}
        done += pipeline.flush()

    assert [d.tag for d in done] == [0, 1, 2, 3, 4]
    assert [d.saved for d in done] == [
        SaveResult(10, 0),
        SaveResult(10, 0),
        SaveResult(9, 0, quarantined=1),
        SaveResult(10, 0, quarantined=1),
        SaveResult(10, 0),
    ]
    assert [d.rejected for d in done] == [0, 0, 1, 1, 0]
    assert store.get_cursor(piped, "logs") == {"page": 4}
    assert stored(store, "piped") == stored(store, "serial")
    assert store.count_rejected(piped) == store.count_rejected(serial) == 2
    with store.engine.connect() as conn:
        rejects = conn.execute(
            text("SELECT instance_id, raw, error FROM rejected_records ORDER BY id")
        ).all()
    by_instance = {
        iid: [(raw, err) for i, raw, err in rejects if i == iid] for iid in (serial, piped)
    }
    assert by_instance[serial] == by_instance[piped]


def test_pages_are_committed_in_groups_of_records(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    pages = [[event(p * 10 + i) for i in range(10)] for p in range(7)]
    committed: list[list[int]] = []
    with IngestPipeline[int](store, normalize, workers=1, ahead=1, group=25) as pipeline:
        for n, records in enumerate(pages):
            committed.append([d.tag for d in pipeline.put(iid, "logs", records, {"page": n}, n)])
        # 25 records are three pages of 10: pages 0-2 went in one transaction, 3-5 in the next
        assert store.get_cursor(iid, "logs") == {"page": 5}
        assert store.count_activities(iid) == 60
        committed.append([d.tag for d in pipeline.flush()])
    assert committed == [[], [], [], [0, 1, 2], [], [], [3, 4, 5], [6]]
    assert store.count_activities(iid) == 70


def test_pages_before_a_failed_page_are_committed_by_flush(store: Store) -> None:
    # A page that cannot be stored (here a normalizer bug) must not hold back the pages
    # gathered before it for the same commit; it and the pages after it are not stored.
    iid = store.add_instance("okta", "acme", {}, {}).id
    pages = [[event(p * 10 + i) for i in range(10)] for p in range(4)]
    # A complex number is no JSON: the page is normalized in this process and its details,
    # which copy debugData, cannot be encoded.
    pages[2][0]["debugContext"] = {"debugData": {"odd": 1j}}
    with IngestPipeline[int](store, normalize, workers=1, ahead=1) as pipeline:
        pipeline.put(iid, "logs", pages[0], {"page": 0}, 0)
        pipeline.put(iid, "logs", pages[1], {"page": 1}, 1)
        pipeline.put(iid, "logs", pages[2], {"page": 2}, 2)
        with pytest.raises(StoreError, match="breaks the Activity contract"):
            pipeline.put(iid, "logs", pages[3], {"page": 3}, 3)
        assert [d.tag for d in pipeline.flush()] == [0, 1]
    assert store.get_cursor(iid, "logs") == {"page": 1}
    assert store.count_activities(iid) == 20


def test_unflushed_pages_are_not_committed(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    with IngestPipeline[None](store, normalize, workers=1, ahead=3) as pipeline:
        for n in range(3):
            assert pipeline.put(iid, "logs", [event(n)], {"page": n}, None) == []
    # Closed without a flush: nothing committed, so the feed starts over from its cursor.
    assert store.get_cursor(iid, "logs") is None
    assert store.count_activities(iid) == 0


def _int_keys_break_the_contract(raw: Mapping[str, Any]) -> Activity:
    return dataclasses.replace(normalize(raw), source_event_id="")


def test_a_page_that_is_not_plain_json_is_normalized_in_process(store: Store) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    odd = {**event(1), 7: "an integer key"}  # orjson refuses it without options
    with IngestPipeline[None](store, normalize, workers=1) as pipeline:
        pipeline.put(iid, "logs", [event(0), odd], {"page": 0}, None)
        assert [d.saved for d in pipeline.flush()] == [SaveResult(2, 0)]
        raw = {a.source_event_id: a.raw for a in stored(store, "acme")}["evt-0001"]
        assert raw["7"] == "an integer key"

    # A page normalized in-process reports a contract breach when it is stored, like a
    # worker's page would, and commits nothing.
    with IngestPipeline[None](store, _int_keys_break_the_contract, workers=1) as pipeline:
        pipeline.put(iid, "logs", [odd], {"page": 1}, None)
        with pytest.raises(StoreError, match="breaks the Activity contract"):
            pipeline.flush()
    assert store.get_cursor(iid, "logs") == {"page": 0}


def test_a_pipeline_needs_a_worker(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        IngestPipeline[None](store, normalize, workers=0)


def test_a_page_of_record_texts_is_stored_with_each_text_as_sent(store: Store) -> None:
    """A RawRecords page (what the app feeds yield) goes to the workers as its own texts:
    nothing is parsed or re-serialized here, the body keeps the API's bytes, and a
    record orjson cannot read (an integer beyond 64 bits) is still normalized."""
    iid = store.add_instance("okta", "texts", {}, {}).id
    records = [event(i) for i in range(3)]
    texts = [orjson.dumps(r).decode() for r in records]
    texts[1] = texts[1].replace('"uuid"', '"big": 1180591620717411303425, "uuid"', 1)
    texts[2] = texts[2].replace(",", ", ", 1)  # spacing as an API may send it
    body = ("[" + ",".join(texts) + ", 5]").encode()
    page = RawRecords.split(body, ("published",))
    with IngestPipeline[int](store, normalize, workers=1, group=1) as pipeline:
        pipeline.put(iid, "logs", page, {"page": 0}, 0)
        (done,) = pipeline.flush()
    assert done.saved.inserted == 3 and done.rejected == 1
    with store.engine.connect() as conn:
        bodies = conn.execute(
            text("SELECT body FROM activities WHERE instance_id = :i ORDER BY source_event_id"),
            {"i": iid},
        ).scalars()
        assert [decode_body(b)[1].decode() for b in bodies] == texts
    assert stored(store, "texts")[1].raw["big"] == 2**70 + 1  # not rounded to a double


_KILLED_PARENT = """
import os, signal, sys
from opencasb.apps.okta.normalize import normalize
from opencasb.crypto import generate_key
from opencasb.ingest.pipeline import IngestPipeline
from opencasb.store import open_store

if __name__ == "__main__":
    store = open_store("sqlite:///" + sys.argv[1], key=generate_key())
    pipeline = IngestPipeline(store, normalize, workers=2)
    pipeline.warm_up()
    print(" ".join(str(pid) for pid in pipeline._pool._processes), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_end_when_the_sync_process_is_killed(tmp_path: Path) -> None:
    """Workers forked from the fork server still watch the process that asked for them:
    a SIGKILLed sync leaves no worker behind."""
    script = tmp_path / "sync.py"
    script.write_text(_KILLED_PARENT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # gone already
        try:
            ended, _, _ = select.select([fd], [], [], 60)  # wakes when the process exits
        finally:
            os.close(fd)
        assert ended, f"worker {pid} outlived its killed parent"


def test_odd_json_in_a_record_is_stored_and_read_back_exactly(store: Store) -> None:
    """Integers beyond 64 bits and nesting deeper than orjson writes (255) are JSON an API
    may send: the record is stored, its details and raw read back exact."""
    iid = store.add_instance("okta", "odd", {}, {}).id
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"d": deep}
    record = event(0)
    record["debugContext"] = {"debugData": {"big": 2**70 + 1, "deep": deep}}
    page = RawRecords.split(f"[{orjson.dumps(event(1)).decode()}, {json.dumps(record)}]".encode())
    with IngestPipeline[int](store, normalize, workers=1, group=1) as pipeline:
        pipeline.put(iid, "logs", page, {"page": 0}, 0)
        (done,) = pipeline.flush()
    assert done.saved.inserted == 2 and done.rejected == 0
    (odd,) = [a for a in stored(store, "odd") if a.source_event_id == record["uuid"]]
    assert odd.raw == record
    assert odd.details["debug.big"] == 2**70 + 1


def _breaks_the_contract_on_evt_0001(raw: Mapping[str, Any]) -> Activity:
    activity = normalize(raw)
    if activity.source_event_id == "evt-0001":
        return dataclasses.replace(activity, category="no such category")  # type: ignore[arg-type]
    return activity


def test_a_record_whose_activity_the_store_cannot_keep_is_quarantined() -> None:
    # (In this process: the test's normalizer cannot be sent to a worker.)
    texts = [orjson.dumps(event(i)).decode() for i in range(3)]
    page = encode_page(_breaks_the_contract_on_evt_0001, 1, RawRecords(texts))
    assert page.positions == [0, 2] and len(page.rows) == 2
    assert page.rejected == [
        (1, "the store cannot keep its activity: unknown category 'no such category'")
    ]


def test_page_write_stores_a_parsed_page_as_a_raw_page_with_the_same_records() -> None:
    # One write path whatever form a feed fetched its records in: the same rows and raw
    # texts, the same records quarantined, each kept as it was fetched.
    records = [event(0), {"uuid": "no-time"}, event(2)]
    texts = [orjson.dumps(r).decode() for r in records]
    parsed = page_write(normalize, 3, "logs", records, {"p": 1}, quarantine=[("gap", "g")])
    raw = page_write(normalize, 3, "logs", RawRecords(texts), {"p": 1}, quarantine=[("gap", "g")])
    assert parsed.page.rows == raw.page.rows and list(parsed.raws) == list(raw.raws)
    assert [e for _, e in parsed.rejected] == [e for _, e in raw.rejected]
    assert [r for r, _ in parsed.rejected] == [records[1], "gap"]
    assert [r for r, _ in raw.rejected] == [texts[1], "gap"]
