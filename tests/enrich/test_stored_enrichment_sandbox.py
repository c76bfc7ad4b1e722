"""The enrichment stored at ingest is exactly what the enricher computes from the activity
as the store reads it back, for every record of both sandboxes (Okta through the worker
pipeline, Office 365 in-process): detectors keyed by country or place see the same values
whether the enrichment was stored or computed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.sandbox.served import demo_enricher, served

from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.crypto import generate_key
from opencasb.ingest.pipeline import IngestPipeline
from opencasb.sandbox.scenarios import sandbox_plan
from opencasb.store import PageWrite, open_store
from opencasb.store.micros import to_micros

ANCHOR = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
SEED, SIZE, DAYS = 7, 50, 4


def test_stored_enrichment_equals_the_computed_one(tmp_path: Path) -> None:
    plan = sandbox_plan(SEED, SIZE, ANCHOR, DAYS)
    got = served(SEED, SIZE, ANCHOR, DAYS, plan)
    okta_records, o365_acts = got.okta_records, got.o365
    enricher = demo_enricher()
    store = open_store(f"sqlite:///{tmp_path / 'opencasb.db'}", key=generate_key())
    try:
        store.enricher = enricher
        okta_id = store.add_instance("okta", "okta", {}, {}).id
        o365_id = store.add_instance("office365", "contoso", {}, {}).id
        with IngestPipeline[int](store, normalize_okta, workers=1) as pipeline:
            for n in range(0, len(okta_records), 1000):
                pipeline.put(okta_id, "logs", okta_records[n : n + 1000], {"n": n}, n)
            pipeline.flush()
        for n in range(0, len(o365_acts), 1000):
            page = o365_acts[n : n + 1000]
            store.save_pages([PageWrite.of(o365_id, "audit", page, None, enricher=enricher)])
        rows = store.detection.activities_after({}, 10_000_000)
        assert len(rows) == len(okta_records) + len(o365_acts) > 1000
        stored = store.stored_enrichments([i for i, _, _ in rows])
        computed = {i: enricher.enrich(a) for i, _, a in rows}
        assert [i for i, _, _ in rows if stored[i] != computed[i]] == []
        # the detection stage's read (activities and enrichment in one query) agrees
        observed = store.detection.observed_after({}, 10_000_000)
        assert [(o.id, o.instance_id, o.activity) for o in observed] == rows
        assert {o.id: o.enrichment for o in observed} == stored
        # what detection decides on without the body is what the body gives
        heads = [(o.t, o.activity_type, o.category, o.user_key, o.email_key) for o in observed]
        assert heads == [
            (
                to_micros(a.time),
                a.activity_type,
                a.category,
                a.actor.user_key,
                a.actor.email and a.actor.user_key,
            )
            for _, _, a in rows
        ]
        # the sandbox's places, networks and tags are all there
        values = [e for e in stored.values() if e is not None]
        assert {e.geo_source for e in values} >= {"app", "builtin"}
        assert {t for e in values for t in e.ip_tags} >= {"corporate", "tor"}
        assert all(e.country_code for e in values if e.geo_source)
    finally:
        store.close()
