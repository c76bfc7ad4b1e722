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
    a = _statuses(org_factory(faults=Faults(error_500_rate=0.2, error_503_rate=0.1, seed=41)), 60)
    b = _statuses(org_factory(faults=Faults(error_500_rate=0.2, error_503_rate=0.1, seed=41)), 60)
    assert a == b
    assert {500, 503, 200} == set(a)
    org = org_factory(faults=Faults(error_500_rate=0.2, seed=7))
    r = next(r for r in (org.get("/api/v1/logs") for _ in range(50)) if r.status_code == 500)
    assert r.json()["errorCode"] == "E0000009"


def test_429_burst_spends_the_window_until_its_reset(org_factory):
    org = org_factory(faults=Faults(burst_429_every=5))
    start = int(org.clock.now().timestamp())
    # The 5th admitted request drains the window: it and the rest of the window get 429.
    assert _statuses(org, 7) == [200, 200, 200, 200, 429, 429, 429]
    r = org.get("/api/v1/users")
    assert r.status_code == 429 and r.json()["errorCode"] == "E0000047"
    # The same headers as a real exhaustion of this window: its limit, 0 left, its reset.
    assert r.headers["x-rate-limit-limit"] == "600"
    assert r.headers["x-rate-limit-remaining"] == "0"
    assert int(r.headers["x-rate-limit-reset"]) == start + 60
    org.clock.advance(59)
    assert org.get("/api/v1/users").status_code == 429  # still the drained window
    org.clock.advance(1)  # the reset: a whole fresh window
    assert _statuses(org, 5) == [200, 200, 200, 200, 429]
    # Runtime changes: bursts off, then a new schedule from a reseed.
    org.clock.advance(60)
    injector = runtime_of(org.app).state.faults
    injector.faults.burst_429_every = 0
    assert set(_statuses(org, 10)) == {200}
    injector.faults = Faults(burst_429_every=2)
    injector.reseed()
    assert _statuses(org, 2) == [200, 429]


def test_faults_are_counted_per_endpoint(org_factory):
    """Unrelated calls do not move where faults land on the System Log."""
    faults = dict(error_500_rate=0.2, error_503_rate=0.1, burst_429_every=7, seed=5)
    quiet = org_factory(faults=Faults(**faults))
    busy = org_factory(faults=Faults(**faults))

    def poll(org) -> int:
        org.clock.advance(7)  # drained windows reset now and then
        return org.get("/api/v1/logs", limit=1).status_code

    alone = [poll(quiet) for _ in range(40)]
    mixed = []
    for n in range(40):
        for _ in range(n % 4):  # other endpoints, in other buckets, in between
            busy.get("/api/v1/users")
            busy.get("/api/v1/groups")
        mixed.append(poll(busy))
    assert mixed == alone
    assert {200, 429, 500, 503} <= set(alone)  # the test exercises every kind of fault


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
