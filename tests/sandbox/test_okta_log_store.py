"""LogStore cursors: whatever the arrival order, polling delivers each event exactly once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from opencasb.sandbox.okta.log_store import LogStore


@settings(max_examples=60, deadline=None)
@given(
    seeded=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 30)), max_size=40),
    steps=st.lists(
        st.tuples(st.integers(0, 20), st.lists(st.integers(0, 40), max_size=5), st.integers(1, 7)),
        max_size=12,
    ),
)
def test_polling_never_skips_or_repeats(seeded, steps):
    """Events are (published, persistence delay); between polls the clock moves and new
    events arrive, some published long before, some persisted in the future."""
    store = LogStore()
    now = 30
    store.load((b"%d" % i, pub, pub + delay) for i, (pub, delay) in enumerate(seeded))
    n = len(seeded)
    cursor = None
    seen: list[bytes] = []
    for advance, delays, limit in steps:
        now += advance
        for delay in delays:
            # Appended now (persistence can't be in the past), published up to 40 ms earlier.
            store.append(b"%d" % n, now - delay, now + (delay % 3))
            n += 1
        while True:
            page = store.poll(
                after=cursor,
                since_ms=0,
                now_ms=now,
                min_published_ms=-(10**9),
                limit=limit,
                match=None,
            )
            seen += page.blobs
            cursor = page.last_key or cursor
            if len(page.blobs) < limit:
                break
    assert len(seen) == len(set(seen))
    page = store.poll(
        after=cursor, since_ms=0, now_ms=10**9, min_published_ms=-(10**9), limit=10**6, match=None
    )
    assert sorted(seen + page.blobs) == sorted(b"%d" % i for i in range(n))


def test_bounded_descending_and_ties():
    store = LogStore()
    store.load([(b"a", 5, 5), (b"b", 5, 6), (b"c", 7, 7)])
    store.append(b"d", 5, 8)
    page = store.bounded(
        after=None, since_ms=0, until_ms=10, now_ms=100, descending=True, limit=2, match=None
    )
    assert page.blobs == [b"c", b"d"] and page.has_more
    assert page.last_key is not None
    rest = store.bounded(
        after=page.last_key,
        since_ms=0,
        until_ms=10,
        now_ms=100,
        descending=True,
        limit=2,
        match=None,
    )
    assert rest.blobs == [b"b", b"a"] and not rest.has_more
    asc = store.bounded(
        after=None, since_ms=5, until_ms=7, now_ms=100, descending=False, limit=10, match=None
    )
    assert asc.blobs == [b"a", b"b", b"d"]
