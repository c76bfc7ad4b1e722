"""The Office 365 emulator's ``Faults.late_fraction``: a share of the generated records is
published hours late (research §2.6 and §5: content blobs become available late, a later blob
holds older events), in the history and the live trickle alike, deterministically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.sandbox.o365_conftest_helpers import signing_key

from opencasb.clock import FakeClock
from opencasb.sandbox.office365 import Faults, Limits
from opencasb.sandbox.office365.gen_publish import BUCKET, MAX_LAG, Late
from opencasb.sandbox.office365.generate import generate_records, live_records, tenant_for
from opencasb.sandbox.office365_sandbox import O365LiveTrickle, build_o365_sandbox
from opencasb.sandbox.org import Organisation, build_org

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
LATE = Late(fraction=0.1, max_seconds=6 * 3600, seed=3)
Records = list[tuple[dict[str, Any], datetime]]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return build_org(2, 120)


def _created(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)


def _first_publication(records: Records) -> dict[str, tuple[bytes, datetime]]:
    """Record id -> (its bytes, when it was first published)."""
    out: dict[str, tuple[bytes, datetime]] = {}
    for record, published in records:
        out.setdefault(record["Id"], (orjson.dumps(record), published))
    return out


def test_that_share_of_records_is_published_up_to_late_max_later(org: Organisation) -> None:
    tenant, end = tenant_for(org), START + timedelta(days=3)
    on_time = _first_publication(list(generate_records(org, tenant, START, end)))
    late = _first_publication(list(generate_records(org, tenant, START, end, late=LATE)))
    # The events of the middle day are published inside the window either way.
    lo, hi = START + timedelta(days=1), START + timedelta(days=2)
    both = [i for i, (body, _) in on_time.items() if lo <= _created(orjson.loads(body)) < hi]
    assert len(both) > 1000
    delays = []
    for i in both:
        body, published = on_time[i]
        late_body, late_published = late[i]
        assert late_body == body  # the same record: only its publication moves
        delays.append((late_published - published).total_seconds())
    assert min(delays) >= 0
    assert max(delays) <= LATE.max_seconds + BUCKET
    share = sum(d > 0 for d in delays) / len(delays)
    assert 0.07 < share < 0.13, share
    # hours late: beyond anything the normal publication tail does
    lags = [(late[i][1] - _created(orjson.loads(late[i][0]))).total_seconds() for i in both]
    assert max(lags) > MAX_LAG
    # normally 1.5% of records are published more than 4 hours after their events
    assert sum(lag > 4 * 3600 for lag in lags) / len(lags) > 0.04


def test_late_blobs_hold_events_older_than_blobs_published_before_them(
    org: Organisation,
) -> None:
    tenant, end = tenant_for(org), START + timedelta(days=2)
    records = list(generate_records(org, tenant, START, end, late=LATE))
    published = [p for _, p in records]
    assert published == sorted(published)  # still served in publication order
    newest_seen = datetime.min.replace(tzinfo=UTC)
    older_by = timedelta(0)
    for record, _ in records:
        created = _created(record)
        older_by = max(older_by, newest_seen - created)
        newest_seen = max(newest_seen, created)
    # some record arrives after records of events many hours newer than its own
    assert older_by > timedelta(hours=8)


def test_adjacent_windows_still_add_up_to_the_whole(org: Organisation) -> None:
    tenant = tenant_for(org)
    mid, end = START + timedelta(hours=29, minutes=2, seconds=5), START + timedelta(days=2)

    def dump(records: Any) -> list[bytes]:
        return [orjson.dumps(r) + p.isoformat().encode() for r, p in records]

    whole = dump(generate_records(org, tenant, START, end, late=LATE))
    parts = dump(live_records(org, tenant, START, mid, late=LATE))
    parts += dump(live_records(org, tenant, mid, end, late=LATE))
    assert parts == whole
    assert dump(generate_records(org, tenant, START, end, late=LATE)) == whole  # same again
    other = Late(LATE.fraction, LATE.max_seconds, seed=4)
    assert dump(generate_records(org, tenant, START, end, late=other)) != whole


def test_the_sandbox_history_and_trickle_publish_late_records() -> None:
    clock = FakeClock(START + timedelta(days=3))
    limits = Limits(activity_per_minute=1_000_000, shared_pool_per_minute=1_000_000)
    faults = Faults(late_fraction=0.2, late_max_hours=10, seed=7)
    sb = build_o365_sandbox(
        seed=2, size=60, days=2, clock=clock, faults=faults, limits=limits,
        signing_key=signing_key(),
    )  # fmt: skip
    anchor = sb.history_end

    def lags(blobs: Any) -> list[float]:
        return [
            (b.created - _created(orjson.loads(r))).total_seconds()
            for b in blobs
            for r in b.records
        ]

    history = sb.state.blobs.all_blobs()
    assert max(lags(history)) > MAX_LAG
    trickle = O365LiveTrickle(sb, lead=timedelta(minutes=5))
    for _ in range(12 * 12):  # twelve hours, five minutes at a time
        clock.advance(300)
        trickle.step()
    new = [b for b in sb.state.blobs.all_blobs() if b.created > anchor]
    # published after the history ended, about events from before it, hours before
    stale = [
        r
        for b in new
        for r in b.records
        if _created(orjson.loads(r)) < anchor - timedelta(seconds=MAX_LAG)
    ]
    assert stale, "no record of the history's time was published late by the trickle"
    # without the fault nothing is that late
    plain = build_o365_sandbox(
        seed=2, size=60, days=2, clock=FakeClock(START + timedelta(days=3)), limits=limits,
        signing_key=signing_key(),
    )  # fmt: skip
    assert max(lags(plain.state.blobs.all_blobs())) <= MAX_LAG


def test_opencasb_sandbox_late_fraction_reaches_the_office365_tenant(tmp_path: Path) -> None:
    from opencasb.cli.serve_o365 import serve_o365
    from opencasb.sandbox.tls import ensure_sandbox_tls

    served = serve_o365(
        ensure_sandbox_tls(tmp_path / "tls"), host="127.0.0.1", port=0, size=50, seed=3,
        days=2, rate=2000, trickle_every=0, port_option="--o365-port", late_fraction=0.3,
        anchor=START + timedelta(days=3), clock=FakeClock(START + timedelta(days=3)),
    )  # fmt: skip
    try:
        blobs = served.sandbox.state.blobs.all_blobs()
    finally:
        served.stop()
    lags = [
        (b.created - _created(orjson.loads(r))).total_seconds() for b in blobs for r in b.records
    ]
    assert max(lags) > MAX_LAG
