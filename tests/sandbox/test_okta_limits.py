"""Rate-limit headers and budgets, and reproducible fault injection."""

from __future__ import annotations

import email.utils
from datetime import timedelta

from opencasb.sandbox.okta import Faults, RateLimits, runtime_of
from opencasb.sandbox.okta.state import iso_ms


def test_every_response_carries_okta_headers(org):
    for r in (
        org.get("/api/v1/logs"),
        org.get("/api/v1/users/00uNOPE"),
        org.get("/x", token="bad"),
    ):
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-okta-request-id"].startswith("req")
        assert email.utils.parsedate_to_datetime(r.headers["date"]) == org.clock.now()
        for h in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
            assert r.headers[h].isdigit()


def test_budget_429_and_reset_after_a_minute(org_factory):
    org = org_factory(rate_limits=RateLimits(logs=3))
    start = int(org.clock.now().timestamp())
    remaining = [org.get("/api/v1/logs").headers["x-rate-limit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    org.clock.advance(10)
    r = org.get("/api/v1/logs")
    assert r.status_code == 429
    assert r.json()["errorCode"] == "E0000047"
    assert r.json()["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert r.headers["x-rate-limit-limit"] == "3"
    assert r.headers["x-rate-limit-remaining"] == "0"
    # The window started at the first request, not on a wall-clock minute.
    assert int(r.headers["x-rate-limit-reset"]) == start + 60
    date = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
    assert int(r.headers["x-rate-limit-reset"]) - date == 50
    # Other buckets are unaffected.
    assert org.get("/api/v1/users").status_code == 200
    org.clock.advance(50)
    r = org.get("/api/v1/logs")
    assert r.status_code == 200 and r.headers["x-rate-limit-remaining"] == "2"
    assert int(r.headers["x-rate-limit-reset"]) == start + 120


def _statuses(org, n: int) -> list[int]:
    return [org.get("/api/v1/users").status_code for _ in range(n)]


def test_faults_are_reproducible(org_factory):
    a = _statuses(org_factory(faults=Faults(error_500_rate=0.2, error_503_rate=0.1, seed=42)), 60)
    b = _statuses(org_factory(faults=Faults(error_500_rate=0.2, error_503_rate=0.1, seed=42)), 60)
    assert a == b
    assert {500, 503, 200} == set(a)
    org = org_factory(faults=Faults(error_500_rate=0.2, seed=7))
    r = next(r for r in (org.get("/api/v1/logs") for _ in range(50)) if r.status_code == 500)
    assert r.json()["errorCode"] == "E0000009"


def test_429_bursts_and_runtime_changes(org_factory):
    org = org_factory(faults=Faults(burst_429_every=5, burst_429_length=2))
    assert _statuses(org, 10) == [200, 200, 200, 429, 429] * 2
    r = org.get("/api/v1/users")  # request 11: first of the next cycle
    assert r.status_code == 200
    injector = runtime_of(org.app).state.faults
    injector.faults.burst_429_every = 0
    assert set(_statuses(org, 10)) == {200}
    injector.faults = Faults(burst_429_every=2, burst_429_length=1)
    injector.reseed()
    r = org.get("/api/v1/users"), org.get("/api/v1/users")
    assert [x.status_code for x in r] == [200, 429]
    assert r[1].headers["x-rate-limit-remaining"] == "0"
    assert r[1].json()["errorCode"] == "E0000047"


def test_clock_latency_advances_the_fake_clock(org_factory):
    org = org_factory(faults=Faults(latency_seconds=2.5))
    before = org.clock.now()
    org.get("/api/v1/users")
    assert org.clock.now() - before == timedelta(seconds=2.5)
    assert org.clock.sleeps == [2.5]


def test_late_storage_fault_delays_persistence(org_factory, helpers):
    org = org_factory(faults=Faults(late_fraction=0.5, late_max_minutes=10, seed=3))
    for n in range(40):
        org.state.append_event(helpers.make_event(9000 + n, org.clock.now()))
    visible = org.get("/api/v1/logs", q="number", since=iso_ms(org.clock.now()), limit=1000)
    seen_now = {e["uuid"] for e in visible.json()}
    assert 5 < len(seen_now) < 35  # about half were stored late
    org.clock.advance(601)
    everything = org.get("/api/v1/logs", since=iso_ms(helpers.NOW), limit=1000).json()
    assert len({e["uuid"] for e in everything}) == 40
