"""Late System Log events (issue 11, part 8): the emulator stores them late, the connector
still finds them, and a poller that re-queries by ``published`` without overlap does not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import orjson

from opencasb.sandbox.okta import Faults
from opencasb.sandbox.okta.state import epoch_ms, iso_ms
from opencasb.sandbox.okta_sandbox import LiveTrickle

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
