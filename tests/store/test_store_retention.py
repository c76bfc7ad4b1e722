"""Retention: activities older than the period go, in batches of their own transactions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from opencasb.clock import FakeClock
from opencasb.errors import ConfigError
from opencasb.store import ActivityQuery, Store

from .conftest import save_page

DAY = timedelta(days=1)


def _ages(store: Store) -> list[str]:
    return sorted(a.source_event_id for a in store.iter_activities(ActivityQuery()))


def test_prunes_what_is_older_than_the_period_and_keeps_the_rest(
    store: Store, clock: FakeClock, act: Any
) -> None:
    now = clock.now()
    acme = store.add_instance("okta", "acme", {}, {}).id
    other = store.add_instance("office365", "contoso", {}, {}).id
    save_page(
        store,
        acme,
        "logs",
        [
            act(0, source_event_id="400d", time=now - 400 * DAY),
            act(0, source_event_id="181d", time=now - 181 * DAY),
            act(0, source_event_id="180d", time=now - 180 * DAY),  # exactly at the cutoff: kept
            act(0, source_event_id="179d", time=now - 179 * DAY),
            act(0, source_event_id="now", time=now),
        ],
        {},
    )
    save_page(store, other, "logs", [act(0, source_event_id="o-200d", time=now - 200 * DAY)], {})
    assert store.prune_activities(180) == 3
    assert _ages(store) == ["179d", "180d", "now"]
    assert store.prune_activities(180) == 0
    clock.advance(timedelta(days=2).total_seconds())
    assert store.prune_activities(180) == 2  # "180d" and "179d" are now 182 and 181 days old
    assert _ages(store) == ["now"]
    # a pruned event fetched again (an overlapping backfill) is stored again, not a duplicate
    saved = save_page(store, acme, "logs", [act(0, source_event_id="181d", time=now)], {})
    assert saved.inserted == 1


def test_each_batch_is_its_own_transaction(store: Store, clock: FakeClock, act: Any) -> None:
    now = clock.now()
    iid = store.add_instance("okta", "acme", {}, {}).id
    old = [
        act(i, source_event_id=f"old-{i}", time=now - 200 * DAY + timedelta(seconds=i))
        for i in range(10)
    ]
    save_page(store, iid, "logs", [*old, act(0, source_event_id="new", time=now)], {})
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    assert store.prune_activities(180, batch_size=3) == 10
    assert len(commits) == 4  # 3 + 3 + 3 + 1: the write lock is released between batches
    assert _ages(store) == ["new"]


def test_zero_days_keeps_everything_and_negative_is_refused(
    store: Store, clock: FakeClock, act: Any
) -> None:
    iid = store.add_instance("okta", "acme", {}, {}).id
    save_page(store, iid, "logs", [act(0, time=clock.now() - 5000 * DAY)], {})
    assert store.prune_activities(0) == 0
    assert store.count_activities() == 1
    with pytest.raises(ConfigError, match="retention_days"):
        store.prune_activities(-1)
    with pytest.raises(ConfigError, match="batch size"):
        store.prune_activities(1, batch_size=0)
