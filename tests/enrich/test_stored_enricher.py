"""The enricher built from the stored IP tags: reloaded when (and only when) they change, and
the detection stage's default, on both engines."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.detect.stage import DetectionStage, store_policy
from opencasb.detect.templates import template
from opencasb.enrich.stored import EnricherSource, load_enricher
from opencasb.model.activity import Activity, Actor, Category, Outcome
from opencasb.store import PageWrite, Store, open_store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TOR = "185.220.102.9"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, key=generate_key(), clock=FakeClock(T0))
    try:
        yield s
    finally:
        s.close()


def test_the_source_reloads_when_the_version_moves(store: Store) -> None:
    source = EnricherSource(store)
    first = source.current()
    assert source.version == 0 and first.enrich_fields(ip=TOR).ip_tags == ()
    assert source.current() is first  # nothing changed: the same enricher
    store.ip_tags.add("185.220.102.0/24", "tor", source="cli", created_by="t")
    second = source.current()
    assert second is not first and source.version == 1
    assert second.enrich_fields(ip=TOR).ip_tags == ("tor",)
    assert first.enrich_fields(ip=TOR).ip_tags == ()  # readers holding the old one: unchanged
    assert source.current() is second
    store.ip_tags.remove("185.220.102.0/24")
    assert source.current().enrich_fields(ip=TOR).ip_tags == ()
    assert load_enricher(store).enrich_fields(ip=TOR).ip_tags == ()


def _sign_in(i: int, ip: str) -> Activity:
    return Activity(
        time=T0 - timedelta(hours=1) + timedelta(seconds=i),
        app="okta",
        source_event_id=f"e{i}",
        activity_type="user.session.start",
        category=Category.LOGON,
        action="User login to Okta",
        outcome=Outcome.SUCCESS,
        actor=Actor(id="00u1", email="ana@example.com", type="User"),
        raw={"uuid": f"e{i}"},
        src_ip=ip,
    )


@pytest.mark.parametrize("tagged", [True, False])
def test_the_detection_stage_uses_the_stored_tags_by_default(store: Store, tagged: bool) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    store.save_pages([PageWrite.of(iid, "logs", [_sign_in(1, TOR), _sign_in(2, "8.8.8.8")], None)])
    store_policy(store, dataclasses.replace(template("risky-ip-sign-in"), enabled=True))
    if tagged:
        store.ip_tags.add("185.220.102.0/24", "tor", source="cli", created_by="t")
    DetectionStage(store, FakeClock(T0), anomaly=None).run_until_caught_up()
    alerts = store.detection.list_alerts()
    assert [a.policy_id for a in alerts] == (["risky-ip-sign-in"] if tagged else [])
    if tagged:
        (only,) = alerts
        (act,) = store.detection.activities_by_id(list(only.evidence)).values()
        assert act.src_ip == TOR
