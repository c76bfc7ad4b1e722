"""Shared by the end-to-end tests: run `opencasb` as a child, read what it committed, and
SIGKILL it at random moments of a backfill. Import as ``tests.e2e.crashes``."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from opencasb.store import open_store

__all__ = ["CLI", "committed", "kill_during_backfill", "stored"]

CLI = [sys.executable, "-m", "opencasb.cli"]


def committed(data: Path) -> int:
    """Activities committed so far, read without the store's machinery (cheap to poll)."""
    uri = f"file:{data / 'opencasb.db'}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM activities").fetchone()[0])
    except sqlite3.Error:
        return 0


def stored(data: Path, instance: str) -> tuple[set[str], int]:
    """The source event ids stored for ``instance`` and the number of its activities."""
    key = (data / "master.key").read_bytes()
    store = open_store(f"sqlite:///{data / 'opencasb.db'}", key=key)
    try:
        iid = store.get_instance(instance).id
        return store.activity_ids(iid), store.count_activities(iid)
    finally:
        store.close()


def kill_during_backfill(
    env: dict[str, str],
    data: Path,
    instance: str,
    truth: set[str],
    *,
    seed: int,
    runs: int,
    enough: int | None = None,
) -> int:
    """Start `sync --once` up to ``runs`` times (stopping once ``enough`` kills have landed)
    and SIGKILL each at a random moment after it committed at least one new page, so every
    kill lands in a backfill that is making progress, whatever the machine's speed. After
    each run the store must hold nothing the API does not. Returns the kills that landed
    while the backfill was still incomplete."""
    rng = random.Random(seed)
    mid_backfill = 0
    before = 0
    for _ in range(runs):
        if enough is not None and mid_backfill >= enough:
            break
        proc = subprocess.Popen(
            [*CLI, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # The wait is bounded: a child that finishes (or fails) ends it too.
        deadline = time.monotonic() + 60
        while proc.poll() is None and committed(data) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        # Within 0.15 s of that commit: a run must not get far past it, or the backfill ends
        # before enough kills have landed (the pipeline commits ~5,000 records at a time).
        time.sleep(rng.uniform(0.0, 0.15))
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        ids, _ = stored(data, instance)
        assert ids <= truth, "a killed sync must never store anything the API does not hold"
        mid_backfill += killed and len(ids) < len(truth)
        before = len(ids)
    return mid_backfill
