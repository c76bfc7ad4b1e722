"""The synthetic Okta System Log: deterministic, ordered, lazy, realistic in volume."""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from opencasb.sandbox.okta.generate import generate_events, live_events, okta_seed_parts
from opencasb.sandbox.org import Organisation, build_org

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday; no public holiday that week
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TOP_LEVEL = {
    "actor", "client", "device", "authenticationContext", "displayMessage", "eventType",
    "outcome", "published", "securityContext", "severity", "debugContext", "legacyEventType",
    "transaction", "uuid", "version", "request", "target",
}  # fmt: skip


@pytest.fixture(scope="module")
def org() -> Organisation:
    return build_org(0, 200)


@pytest.fixture(scope="module")
def week(org: Organisation) -> list[tuple[dict[str, Any], datetime]]:
    return list(generate_events(org, START, START + timedelta(days=7)))


def _dump(events: Any) -> list[bytes]:
    return [orjson.dumps(e) + p.isoformat().encode() for e, p in events]


def test_same_seed_gives_identical_bytes_and_another_seed_differs(org: Organisation) -> None:
    end = START + timedelta(days=2)
    a = _dump(generate_events(org, START, end))
    b = _dump(generate_events(org, START, end))
    c = _dump(generate_events(org, START, end, seed=99))
    assert a == b
    assert a != c and len(a) > 1000


def test_adjacent_windows_add_up_to_the_whole(org: Organisation) -> None:
    mid, end = START + timedelta(hours=31, minutes=7), START + timedelta(days=2)
    whole = _dump(generate_events(org, START, end))
    parts = _dump(live_events(org, START, mid)) + _dump(live_events(org, mid, end))
    assert parts == whole


def test_events_are_in_published_order_inside_the_window(week: list[Any]) -> None:
    published = [e["published"] for e, _ in week]
    assert published == sorted(published)
    assert published[0] >= "2026-10-05T00:00:00.000Z"
    assert published[-1] < "2026-10-12T00:00:00.000Z"
    assert all(ISO_MS.match(p) for p in published)


def test_persisted_at_is_a_little_after_published(week: list[Any]) -> None:
    delays = []
    for event, persisted in week:
        published = datetime.fromisoformat(event["published"].replace("Z", "+00:00"))
        delays.append((persisted - published).total_seconds())
    assert min(delays) >= 0.2 and max(delays) < 30
    assert sorted(delays)[len(delays) // 2] < 3.5
    persisted = [p for _, p in week]
    assert persisted != sorted(persisted)  # close to, but not exactly, published order


def test_uuids_are_unique_version_1_and_carry_the_time(org: Organisation) -> None:
    events = generate_events(org, START, START + timedelta(days=21))
    sample = [e for e, _ in itertools.islice(events, 10_000)]
    assert len(sample) == 10_000
    assert len({e["uuid"] for e in sample}) == 10_000
    u = uuid.UUID(sample[0]["uuid"])
    assert u.version == 1
    when = datetime(1582, 10, 15, tzinfo=UTC) + timedelta(microseconds=u.time // 10)
    assert when.strftime("%Y-%m-%dT%H:%M:%S") == sample[0]["published"][:19]


def test_every_event_has_the_full_shape(week: list[Any]) -> None:
    for event, _ in week:
        assert set(event) == TOP_LEVEL
        assert event["version"] == "0"
        assert isinstance(event["debugContext"]["debugData"]["requestId"], str)
        assert event["transaction"]["id"] == event["debugContext"]["debugData"]["requestId"]
        client = event["client"]
        assert set(client["userAgent"]) == {"rawUserAgent", "os", "browser"}
        assert isinstance(client["zone"], str)
        geo = client["geographicalContext"]
        assert isinstance(geo["postalCode"], str)
        assert set(geo["geolocation"]) == {"lat", "lon"}
        assert event["request"]["ipChain"][0]["ip"] == client["ipAddress"]
        assert event["severity"] in {"DEBUG", "INFO", "WARN", "ERROR"}
        assert event["target"] is None or all("id" in t and "type" in t for t in event["target"])


def test_volume_per_active_person_per_working_day(org: Organisation, week: list[Any]) -> None:
    users, *_ = okta_seed_parts(org)
    active = sum(u["status"] == "ACTIVE" for u in users)
    weekday = [e for e, _ in week if e["published"] < "2026-10-10"]
    per_day = len(weekday) / (active * 5)
    assert 8 <= per_day <= 12, per_day


def test_everyday_mix_of_event_types() -> None:
    org = build_org(4, 600)
    types = Counter(e["eventType"] for e, _ in generate_events(org, START, START + timedelta(14)))
    for et in (
        "user.session.start", "policy.evaluate_sign_on", "user.authentication.auth_via_mfa",
        "user.authentication.verify", "user.authentication.sso", "user.session.end",
        "user.account.update_password", "app.oauth2.as.token.grant",
        "user.session.access_admin_app", "group.user_membership.add",
        "application.user_membership.add", "security.threat.detected",
        "system.org.rate_limit.warning",
    ):  # fmt: skip
        assert types[et] > 0, et
    assert types["user.authentication.sso"] > types["user.session.start"]


def test_failures_use_real_reasons(week: list[Any]) -> None:
    failures = Counter(
        (e["eventType"], e["outcome"]["reason"])
        for e, _ in week
        if e["outcome"]["result"] == "FAILURE"
    )
    assert failures[("user.session.start", "INVALID_CREDENTIALS")] > 0
    assert failures[("user.authentication.auth_via_mfa", "VERIFICATION_ERROR")] > 0
    assert set(failures) <= {
        ("user.session.start", "INVALID_CREDENTIALS"),
        ("user.session.start", "LOCKED_OUT"),
        ("user.authentication.auth_via_mfa", "VERIFICATION_ERROR"),
    }


def test_actors_are_the_seeded_users(org: Organisation, week: list[Any]) -> None:
    users, *_ = okta_seed_parts(org)
    by_id = {u["id"]: u for u in users}
    for event, _ in week:
        actor = event["actor"]
        if actor["type"] == "User":
            assert by_id[actor["id"]]["profile"]["login"] == actor["alternateId"]
            assert by_id[actor["id"]]["status"] in {"ACTIVE", "LOCKED_OUT"}


def test_travellers_and_vpn_users_show_up_elsewhere(week: list[Any]) -> None:
    zones = Counter(e["client"]["zone"] for e, _ in week)
    assert zones["Corporate VPN"] > 0 and zones["null"] > 0
    countries = {e["client"]["geographicalContext"]["country"] for e, _ in week}
    assert len(countries) > 5


def test_generation_is_lazy(org: Organisation) -> None:
    events = generate_events(org, START, START + timedelta(days=3650))
    first = list(itertools.islice(events, 50))
    assert len(first) == 50  # a ten-year window starts yielding at once


def test_empty_or_reversed_window_yields_nothing(org: Organisation) -> None:
    assert list(generate_events(org, START, START)) == []
    assert list(generate_events(org, START, START - timedelta(days=1))) == []
