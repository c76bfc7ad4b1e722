"""A sandbox pinned by anchor and seed serves the same System Log, faults included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from opencasb.clock import AnchoredClock, FakeClock
from opencasb.sandbox.okta import Faults, generate_rsa_keypair
from opencasb.sandbox.okta.state import iso_ms
from opencasb.sandbox.okta_sandbox import build_okta_sandbox
from opencasb.sandbox.request_log import RequestLog
from opencasb.sandbox.transport import SyncASGITransport

ANCHOR = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    return generate_rsa_keypair()


def _faults() -> Faults:
    return Faults(
        error_500_rate=0.05, error_503_rate=0.05, burst_429_every=6, late_fraction=0.1,
        late_max_minutes=30, seed=9,
    )  # fmt: skip


def _session(
    rsa_pair: tuple[str, str], *, seed: int = 3, anchor: datetime = ANCHOR
) -> Iterator[tuple[str, Any, int, list[str]]]:
    """Build a pinned sandbox and walk its System Log as a poller would; yields one
    ``(kind, status, body, links)`` per answer, then the request log's lines."""
    base = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))  # the host's time does not matter
    clock = AnchoredClock(anchor, base)
    log = RequestLog(keep=True)
    sb = build_okta_sandbox(
        seed=seed, size=60, days=3, clock=clock, anchor=anchor, faults=_faults(),
        oauth_key_pem=rsa_pair, request_log=log,
    )  # fmt: skip
    clock.start()
    headers = {"Authorization": f"SSWS {sb.credentials.token}"}
    with httpx.Client(
        transport=SyncASGITransport(sb.app), base_url="https://acme.okta.test", headers=headers
    ) as client:
        url = "/api/v1/logs"
        params: dict[str, str | int] | None = {
            "since": iso_ms(anchor - timedelta(days=2)),
            "limit": 200,
        }
        for _ in range(60):
            base.advance(2)
            r = client.get(url, params=params)
            yield "page", r.status_code, r.content, r.headers.get_list("link")
            if r.status_code == 429:  # honour the reset, then retry the same request
                base.advance(int(r.headers["x-rate-limit-reset"]) - clock.now().timestamp())
            if r.status_code != 200:
                continue
            url, params = r.links["next"]["url"], None
        r = client.get("/api/v1/logs", params={"since": iso_ms(anchor - timedelta(days=1))})
        yield "bounded", r.status_code, r.content, r.headers.get_list("link")
    for entry in log.entries:
        yield "log", 0, entry.to_json(), []


def test_same_anchor_and_seed_serve_identical_pages(rsa_pair: tuple[str, str]) -> None:
    first = list(_session(rsa_pair))
    second = list(_session(rsa_pair))
    assert first == second
    statuses = {status for kind, status, _, _ in first if kind == "page"}
    assert {200, 429} <= statuses  # faults were injected, identically
    bodies = [orjson.loads(body) for kind, status, body, _ in first if status == 200]
    assert sum(len(b) for b in bodies if isinstance(b, list)) > 200
    logged = [orjson.loads(body) for kind, _, body, _ in first if kind == "log"]
    assert len(logged) == 61
    assert logged[0]["time"] == "2026-11-01T12:00:02.000Z"  # the anchor's clock, not the host's
    assert {e["fault"] for e in logged} >= {None, "429"}
    assert {e["bucket"] for e in logged} == {"logs"}
    # Another seed or another anchor is other data.
    assert list(_session(rsa_pair, seed=4)) != first
    assert list(_session(rsa_pair, anchor=ANCHOR + timedelta(hours=1))) != first


def test_anchored_clock_stands_still_until_started() -> None:
    base = FakeClock()
    clock = AnchoredClock(ANCHOR, base)
    base.advance(30)  # building the sandbox takes time: it must not show
    assert clock.now() == ANCHOR
    clock.start()
    base.advance(1.5)
    assert clock.now() == ANCHOR + timedelta(seconds=1.5)
    clock.sleep(2)
    assert clock.now() == ANCHOR + timedelta(seconds=3.5) and base.sleeps == [2]
