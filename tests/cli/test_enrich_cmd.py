"""`opencasb enrich --all`: fills the enrichment of rows stored before it was kept, resumes
after a SIGKILL without redoing the committed batches, and has nothing to do when rerun."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from .conftest import Cli


def _rows(db: Path) -> list[tuple[int, int | None, str | None, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT id, enrich_ref, enrich_cc, ip_tags FROM activities ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def _as_before_the_migration(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE activities SET enrich_ref = NULL, enrich_cc = NULL, ip_tags = NULL")
        conn.execute("DELETE FROM stage_state WHERE stage = 'enrich.all'")
        conn.commit()
    finally:
        conn.close()


def _number(text: str, before: str) -> int:
    return int(text.split(before)[0].split()[-1].replace(",", ""))


def test_enrich_all_fills_what_sync_stored_and_reruns_as_a_no_op(synced: Cli) -> None:
    ingested = _rows(synced.db_path)
    assert ingested and all(r[1] is not None for r in ingested)  # sync enriched at ingest
    _as_before_the_migration(synced.db_path)
    out = synced.ok("enrich", "--all", "--batch", "500").stdout
    assert f"enriching {len(ingested):,} activities (from the first one)" in out
    assert f"done: {len(ingested):,} activities read, {len(ingested):,} updated" in out
    assert _rows(synced.db_path) == ingested  # what ingest had stored, row for row
    assert "nothing to do" in synced.ok("enrich", "--all").stdout
    bad = synced("enrich")
    assert bad.exit_code != 0 and "opencasb enrich --all" in bad.output


def test_enrich_all_resumes_after_sigkill(synced: Cli) -> None:
    _as_before_the_migration(synced.db_path)
    total = len(_rows(synced.db_path))
    env = {**os.environ, "OPENCASB_DATA_DIR": str(synced.data_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("OPENCASB_CONFIG", "OPENCASB_DATABASE_URL", "OPENCASB_SECRET_KEY"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "opencasb.cli", "enrich", "--all", "--batch", "10"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if " read, " in line:  # a batch is committed: kill it mid-way
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
    done = sum(1 for r in _rows(synced.db_path) if r[1] is not None)
    assert 10 <= done < total
    out = synced.ok("enrich", "--all", "--batch", "1000").stdout
    assert f"enriching {total - done:,} activities (resuming after activity" in out
    assert _number(out, "activities read") == total - done  # the committed batches stay done
    assert all(r[1] is not None for r in _rows(synced.db_path))
