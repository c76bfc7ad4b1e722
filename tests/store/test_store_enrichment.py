"""Enrichment stored at ingest, on both engines: the app's own place when the record has
one (Okta), else the built-in database's (Office 365); the user's IP tags; the interned
rows and the indexed country code; and stored equals what the enricher computes from the
activity as read back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.enrich import Enricher, parse_ip_range
from opencasb.store import PageWrite, Store, open_store
from opencasb.store.engine import migration_config

from .conftest import KEY

UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def okta_event(i: int, ip: str) -> dict[str, Any]:
    return {
        "uuid": f"evt-{i}",
        "published": f"2026-11-02T09:00:{i:02d}.000Z",
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "outcome": {"result": "SUCCESS"},
        "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com"},
        "client": {
            "ipAddress": ip,
            "userAgent": {"rawUserAgent": UA},
            "geographicalContext": {
                "country": "United States",
                "state": "California",
                "city": "San Francisco",
                "geolocation": {"lat": 37.7749, "lon": -122.4194},
            },
        },
    }


def o365_record(i: int, ip: str) -> dict[str, Any]:
    return {
        "Id": f"ec04aa09-0a43-4879-cdc8-08d7abecf3{i:02d}",
        "CreationTime": f"2026-11-02T10:00:{i:02d}",
        "RecordType": 15,
        "Operation": "UserLoggedIn",
        "Workload": "AzureActiveDirectory",
        "UserId": "ann@example.com",
        "UserKey": "10032001A4F7C2D9",
        "UserType": 0,
        "ClientIP": ip,
        "ExtendedProperties": [{"Name": "UserAgent", "Value": UA}],
    }


def enricher() -> Enricher:
    return Enricher(ip_ranges=[parse_ip_range("81.2.69.0/24", "vpn", name="office VPN")])


def _stored(store: Store) -> list[tuple[int, Any, Any, Any]]:
    """(id, enrich_ref, enrich_cc, ip_tags) of every row."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, enrich_ref, enrich_cc, ip_tags FROM activities ORDER BY id")
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_ingest_stores_the_place_network_client_and_tags(store: Store) -> None:
    okta = store.add_instance("okta", "okta", {}, {}).id
    o365 = store.add_instance("office365", "o365", {}, {}).id
    e = enricher()
    okta_acts = [normalize_okta(okta_event(i, "81.2.69.160")) for i in range(3)]
    o365_acts = [normalize_o365(o365_record(i, "81.2.69.161")) for i in range(2)]
    o365_acts.append(normalize_o365(o365_record(9, "8.8.8.8")))
    store.save_pages(
        [
            PageWrite.of(okta, "logs", okta_acts, None, enricher=e),
            PageWrite.of(o365, "audit", o365_acts, None, enricher=e),
        ]
    )
    rows = _stored(store)
    assert len(rows) == 6
    got = store.stored_enrichments([r[0] for r in rows])
    first = got[rows[0][0]]
    assert first is not None
    # Okta's own geolocation wins (city, coordinates, not coarse), its country code upper
    assert (first.geo_source, first.country_code, first.city) == ("app", "US", "San Francisco")
    assert (first.lat, first.lon, first.coarse) == (37.7749, -122.4194, False)
    assert (first.browser, first.os, first.device_type) == ("Chrome", "Windows", "desktop")
    assert first.ip_tags == ("vpn",)
    o365_first = got[rows[3][0]]
    assert o365_first is not None
    assert (o365_first.geo_source, o365_first.country_code) == ("builtin", "GB")
    assert o365_first.coarse and o365_first.isp
    assert o365_first.ip_tags == ("vpn",)
    last = got[rows[5][0]]
    assert last is not None and last.country_code == "US" and last.ip_tags == ()
    # indexed country code and tags as columns; one interned row per distinct enrichment
    assert [(r[2], r[3]) for r in rows] == [("US", ",vpn,")] * 3 + [("GB", ",vpn,")] * 2 + [
        ("US", None)
    ]
    assert len({r[1] for r in rows}) == 3
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM enrichments")).scalar_one() == 3
    # stored is exactly what the enricher computes from the activity as it reads back
    back = store.detection.activities_by_id([r[0] for r in rows])
    assert {i: e.enrich(a) for i, a in back.items()} == got
    # the detection stage's read gives the same, with the activities, in one query
    observed = store.detection.observed_after({}, 100)
    assert {o.id: o.enrichment for o in observed} == got
    assert {o.id: o.activity for o in observed} == back
    # a cursor and a limit as activities_after
    later = store.detection.observed_after({okta: rows[1][0]}, 2)
    assert [(o.id, o.enrichment) for o in later] == [(r[0], got[r[0]]) for r in rows[2:4]]


def test_a_page_without_an_enricher_is_stored_not_enriched(store: Store) -> None:
    okta = store.add_instance("okta", "okta", {}, {}).id
    store.save_pages([PageWrite.of(okta, "logs", [normalize_okta(okta_event(1, "8.8.8.8"))], None)])
    (row,) = _stored(store)
    assert row[1:] == (None, None, None)
    assert store.stored_enrichments([row[0]]) == {row[0]: None}
    assert [(o.id, o.enrichment) for o in store.detection.observed_after({}, 10)] == [
        (row[0], None)
    ]


def test_interned_rows_are_reused_across_pages_and_processes(store: Store, store_url: str) -> None:
    okta = store.add_instance("okta", "okta", {}, {}).id
    e = enricher()
    store.save_pages(
        [PageWrite.of(okta, "logs", [normalize_okta(okta_event(1, "8.8.8.8"))], None, enricher=e)]
    )
    # a second store object: another process, with an empty cache of interned ids
    other = open_store(store_url, key=KEY)
    try:
        other.save_pages(
            [
                PageWrite.of(
                    okta, "logs", [normalize_okta(okta_event(2, "8.8.8.8"))], None, enricher=e
                )
            ]
        )
    finally:
        other.close()
    rows = _stored(store)
    assert len(rows) == 2 and rows[0][1] == rows[1][1] is not None


def _null_enrichment(store: Store) -> None:
    """What migration 0011 leaves in rows stored before it: no enrichment."""
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE activities SET enrich_ref = NULL, enrich_cc = NULL, ip_tags = NULL")
        )


def _fill(store: Store, n: int) -> list[int]:
    okta = store.add_instance("okta", "okta", {}, {}).id
    ips = ["81.2.69.160", "8.8.8.8", "185.220.101.5"]
    acts = [
        dataclasses.replace(normalize_okta(okta_event(i % 60, ips[i % 3])), source_event_id=f"e{i}")
        for i in range(n)
    ]
    store.save_pages([PageWrite.of(okta, "logs", acts, None, enricher=enricher())])
    return [r[0] for r in _stored(store)]


def test_enrich_all_fills_every_row_resumes_and_is_idempotent(store: Store) -> None:
    ids = _fill(store, 50)
    at_ingest = _stored(store)
    _null_enrichment(store)
    e = enricher()
    start = store.enrich_progress(e)
    assert (start.cursor, start.left, start.current) == (0, 50, False)
    # one batch, then "killed": the next run resumes after it
    first = store.enrich_batch(e, batch=20)
    assert (first.cursor, first.read, first.changed, first.left) == (ids[19], 20, 20, 30)
    assert [r[1] is not None for r in _stored(store)] == [True] * 20 + [False] * 30
    again = store.enrich_progress(e)
    assert (again.cursor, again.left, again.current) == (ids[19], 30, True)
    while (step := store.enrich_batch(e, batch=20)).left:
        assert step.read == 20
    assert step.read == 10
    assert _stored(store) == at_ingest  # exactly what ingest stored
    # run again with nothing changed: nothing to do
    assert store.enrich_progress(e).left == 0
    assert store.enrich_batch(e, batch=20).read == 0
    # the ranges changed: stale tags are refreshed from the first row, the rest left alone
    retagged = Enricher(ip_ranges=[parse_ip_range("8.8.8.0/24", "cloud_provider")])
    assert store.enrich_progress(retagged).current is False
    total = changed = 0
    while True:
        step = store.enrich_batch(retagged, batch=20)
        total, changed = total + step.read, changed + step.changed
        if not step.left:
            break
    assert total == 50
    tags = [r[3] for r in _stored(store)]
    assert tags == [[None, ",cloud_provider,", None][i % 3] for i in range(50)]  # vpn is gone
    assert changed == sum(1 for i in range(50) if i % 3 != 2)


def test_enrich_all_fills_a_store_from_before_the_migration(tmp_path: Path) -> None:
    """Rows stored under migration 0010 (no enrichment columns), upgraded by opening the
    store, then enriched by the batches `opencasb enrich --all` runs."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url, key=KEY)
    ids = _fill(store, 30)
    at_ingest = _stored(store)
    store.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.downgrade(migration_config(conn), "0010")
        cols = {c["name"] for c in sa.inspect(conn).get_columns("activities")}
        assert not cols & {"enrich_ref", "enrich_cc", "ip_tags"}
        assert conn.exec_driver_sql("SELECT count(*) FROM activities").scalar_one() == 30
    engine.dispose()
    store = open_store(url, key=KEY)
    try:
        assert [r[1:] for r in _stored(store)] == [(None, None, None)] * 30
        e = enricher()
        while store.enrich_batch(e, batch=7).left:
            pass
        assert _stored(store) == at_ingest and [r[0] for r in at_ingest] == ids
    finally:
        store.close()
