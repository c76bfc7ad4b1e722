"""Injected 429 bursts live in the emulators' real rate-limit windows (issue 11, part 8).

A client that waits for the reset the emulator announced (Okta's ``X-Rate-Limit-Reset``
against ``Date``; Office 365's ``Retry-After``) must meet a fresh, whole window: never an
injected 429 as the first request after the wait, never two 429s in one window.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.o365_conftest_helpers import FEED, PUBLISHER, Tenant, make_tenant

from opencasb.sandbox.office365 import Faults as O365Faults
from opencasb.sandbox.office365 import Limits
from opencasb.sandbox.okta import Faults, RateLimits
from opencasb.sandbox.request_log import RequestLog


def _reset_wait(r: httpx.Response) -> float:
    """What a client honouring Okta's headers waits: Reset minus the server's Date."""
    date = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
    return int(r.headers["x-rate-limit-reset"]) - date


def test_okta_client_honouring_the_reset_meets_each_burst_once(org_factory: Any) -> None:
    log = RequestLog(keep=True)
    org = org_factory(
        faults=Faults(burst_429_every=9, seed=2), rate_limits=RateLimits(logs=20), request_log=log
    )
    # (status, window reset) of every answer; the client paces nothing but honours 429s.
    seen: list[tuple[int, int]] = []
    after_wait: list[int] = []
    waited = False
    for _ in range(200):
        org.clock.advance(0.5)
        r = org.get("/api/v1/logs", limit=1)
        reset = int(r.headers["x-rate-limit-reset"])
        seen.append((r.status_code, reset))
        if waited:
            after_wait.append(r.status_code)
            waited = False
        if r.status_code == 429:
            org.clock.advance(_reset_wait(r))
            waited = True
    injected = [e for e in log.entries if e.fault == "429"]
    assert len(injected) >= 5, "the test must meet several bursts"
    assert all(e.bucket == "logs" for e in injected)
    # After waiting for the announced reset, the next request always succeeds.
    assert after_wait and set(after_wait) == {200}
    # No window holds two 429s.
    resets_of_429 = [reset for status, reset in seen if status == 429]
    assert len(resets_of_429) == len(set(resets_of_429))


def test_okta_injected_429_looks_like_the_exhausted_window(org_factory: Any) -> None:
    real = org_factory(rate_limits=RateLimits(logs=4))
    fake = org_factory(faults=Faults(burst_429_every=4), rate_limits=RateLimits(logs=60))
    # Real exhaustion: 4 allowed, the 5th refused.
    for _ in range(4):
        real.get("/api/v1/logs")
    exhausted = real.get("/api/v1/logs")
    for _ in range(3):
        first = fake.get("/api/v1/logs")
    burst = fake.get("/api/v1/logs")
    assert exhausted.status_code == burst.status_code == 429
    assert burst.json()["errorCode"] == exhausted.json()["errorCode"] == "E0000047"
    assert burst.headers["x-rate-limit-remaining"] == "0"
    assert burst.headers["x-rate-limit-limit"] == "60"  # the bucket's own limit
    # The reset of the window the earlier answers announced, not "now + 1".
    assert burst.headers["x-rate-limit-reset"] == first.headers["x-rate-limit-reset"]
    assert burst.headers["x-rate-limit-reset"] == exhausted.headers["x-rate-limit-reset"]


@pytest.fixture
def tenants() -> Iterator[Any]:
    gens: list[Iterator[Tenant]] = []

    def make(**kwargs: Any) -> Tenant:
        gen = make_tenant(**kwargs)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        gen.close()


def _honour_retry_after(t: Tenant, call: Any, n: int) -> tuple[list[int], list[int]]:
    """Make ``n`` calls, waiting ``Retry-After`` after each throttle; returns every status
    and the statuses of the first call after each wait."""
    statuses: list[int] = []
    after_wait: list[int] = []
    waited = False
    for _ in range(n):
        t.clock.advance(0.25)
        r = call()
        statuses.append(r.status_code)
        if waited:
            after_wait.append(r.status_code)
            waited = False
        if r.status_code == 429:
            t.clock.advance(float(r.headers["retry-after"]))
            waited = True
    return statuses, after_wait


def test_o365_client_honouring_retry_after_meets_each_burst_once(tenants: Any) -> None:
    log = RequestLog(keep=True)
    t = tenants(
        faults=O365Faults(burst_429_every=6, seed=1),
        limits=Limits(activity_per_minute=100, graph_per_window=50),
        request_log=log,
    )
    manage, graph = t.token(), t.token("https://graph.microsoft.com")
    headers = {"Authorization": f"Bearer {manage}"}

    def listing() -> httpx.Response:
        params = {"PublisherIdentifier": PUBLISHER}
        return t.client.get(f"{FEED}/subscriptions/list", params=params, headers=headers)

    statuses, after_wait = _honour_retry_after(t, listing, 60)
    assert statuses.count(429) >= 5
    assert set(after_wait) == {200}
    # The throttle said how long the drained window lasts: the real wait, not "1".
    throttled = [e for e in log.entries if e.fault == "429"]
    assert {e.bucket for e in throttled} == {f"activity:{t.state.tenant_id}:{PUBLISHER}"}

    statuses, after_wait = _honour_retry_after(t, lambda: t.graph("GET", "users", graph), 40)
    assert statuses.count(429) >= 3
    assert set(after_wait) == {200}


def test_o365_injected_throttle_waits_for_the_window_end(tenants: Any) -> None:
    t = tenants(faults=O365Faults(burst_429_every=3), limits=Limits(activity_per_minute=100))
    tok = t.token()
    for _ in range(2):
        assert t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER).is_success
    t.clock.advance(20)
    r = t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER)
    assert r.status_code == 429 and r.json()["error"]["code"] == "AF429"
    assert r.headers["retry-after"] == "40"  # the window began 20 s ago and lasts 60 s
    t.clock.advance(39)
    still = t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER)
    assert still.status_code == 429 and still.headers["retry-after"] == "1"
    t.clock.advance(1)
    assert t.feed("GET", "subscriptions/list", tok, PublisherIdentifier=PUBLISHER).is_success
