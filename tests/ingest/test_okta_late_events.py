"""Late System Log events (issue 11, part 8): the emulator stores them late, the connector
still finds them, and a poller that re-queries by ``published`` without overlap does not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import pairwise

import httpx
import orjson

from opencasb.sandbox.okta import Faults, runtime_of
from opencasb.sandbox.okta.state import epoch_ms, iso_ms
from opencasb.sandbox.okta_sandbox import LiveTrickle
from opencasb.sandbox.request_log import RequestLog

from .conftest import Org

MakeOrg = Callable[..., Org]
NATURAL_MS = 21_000  # the generator's own persistence delay never exceeds ~20 s


def _late(org: Org) -> dict[str, tuple[int, int]]:
    """uuid -> (published_ms, persisted_ms) of every event stored later than it naturally is."""
    out = {}
    for published_ms, persisted_ms, blob in org.sandbox.state.log.timings():
        if persisted_ms - published_ms > NATURAL_MS:
            out[orjson.loads(blob)["uuid"]] = (published_ms, persisted_ms)
    return out


class NaivePoller:
    """Re-queries ``[last until, now)`` by ``published`` (bounded queries), with no overlap:
    the collector mistake the research warns about (NangoHQ's lesson)."""

    def __init__(self, org: Org, start: datetime) -> None:
        token = org.sandbox.credentials.token
        self._client = httpx.Client(
            transport=org.transport,
            base_url="https://acme.okta.test",
            headers={"Authorization": f"SSWS {token}"},
        )
        self._clock = org.clock
        self._since = start
        self.seen: set[str] = set()

    def poll(self) -> None:
        until = self._clock.now()
        url: str | None = "/api/v1/logs"
        params: dict[str, str | int] | None = {
            "since": iso_ms(self._since),
            "until": iso_ms(until),
            "limit": 1000,
        }
        while url:
            r = self._client.get(url, params=params)
            assert r.status_code == 200, r.text
            self.seen.update(e["uuid"] for e in r.json())
            url, params = r.links.get("next", {}).get("url"), None
        self._since = until


def test_late_events_are_stored_late_and_found_by_the_connector(make_org: MakeOrg) -> None:
    faults = Faults(late_fraction=0.2, late_max_minutes=30, seed=4)
    org = make_org(size=100, days=2, faults=faults)
    start = org.clock.now()
    late_history = _late(org)
    # Stored late: some of the history is not even visible yet, and is published minutes
    # before events already visible.
    pending = {u for u, (_, persisted) in late_history.items() if persisted > epoch_ms(start)}
    assert len(late_history) > 20 and len(pending) >= 3
    iid = org.connect()
    runner = org.runner()
    naive = NaivePoller(org, start)
    assert runner.run_once("okta").ok
    assert not pending & org.store.activity_ids(iid)  # not visible, so not found yet

    trickle = LiveTrickle(org.sandbox)
    for _ in range(12):  # an hour of polling every five minutes, with live events
        org.clock.advance(300)
        trickle.step()
        assert runner.run_once("okta").ok
        naive.poll()
    org.clock.advance(31 * 60)  # no new events; every late one lands
    assert runner.run_once("okta").ok
    naive.poll()
    late = _late(org)
    live_late = set(late) - set(late_history)
    assert live_late, "the live trickle stores some events late too"
    stored = org.store.activity_ids(iid)
    assert stored == org.visible_uuids()
    assert set(late) <= stored  # every late event was found by the connector ...
    # ... while the non-overlapping poller missed the late live events it had polled past.
    missed = live_late - naive.seen
    assert missed and missed <= stored
    assert trickle.appended > len(live_late)


def test_the_connector_meets_each_injected_burst_once(make_org: MakeOrg) -> None:
    """OpenCASB's client waits for ``X-Rate-Limit-Reset``: after an injected 429 its next
    request in that bucket succeeds (a fresh window), however often bursts come."""
    org = make_org(size=100, days=30, faults=Faults(burst_429_every=2, seed=1))
    log = RequestLog(keep=True)
    runtime_of(org.sandbox.app).requests = log
    iid = org.connect()
    result = org.runner().run_once("okta")
    assert result.ok, result.error
    assert org.store.activity_ids(iid) == org.visible_uuids()
    logs = [e for e in log.entries if e.bucket == "logs"]
    assert sum(e.fault == "429" for e in logs) >= 3
    after_429 = [b.status for a, b in pairwise(logs) if a.status == 429]
    assert after_429 and set(after_429) == {200}
