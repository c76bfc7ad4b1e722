"""Bytes per stored activity with and without the enrichment stored at ingest.

Usage:
    .venv/bin/python bench/bench_enrich_store.py [--n 100000] [--batch 5000] [--dir /tmp]

Stores the same ``--n`` Okta-like activities of ``bench_store.py`` (each with its own address,
5,000 users) into two fresh SQLite stores, one page per transaction: *without* enrichment
(``PageWrite.of`` without an enricher: the enrichment columns stay NULL, as in a store
before migration 0011) and *with* it (the demo's IP lists, as the pipeline enriches), and
prints each one's size per activity (pages of the closed file, WAL checkpointed), the
biggest tables and indexes per activity (SQLite's ``dbstat``), the interned enrichment rows,
and the save rate. Run from the repository root or ``bench/``.

Measured (100,000 activities, each from its own address): main before stored enrichment
(20d5c07) 795 bytes per activity; with it 822 (+27: the ``(enrich_cc, time, id)`` index is
26.7 of them; the interned reference, the code and the tags cost the row under one byte
of page space). Saving ran at 3,100 activities/s with enrichment against 6,000 without, in
this process: every address is new here, so nothing comes from the enricher's caches (the
sync pipeline enriches in its worker processes).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_store import batches
from opencasb.crypto import generate_key
from opencasb.enrich import Enricher, load_ip_ranges
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.store import PageWrite, open_store


def fill(path: Path, n: int, batch: int, enricher: Enricher | None) -> float:
    """Store the activities; the seconds spent in save calls."""
    store = open_store(f"sqlite:///{path}", key=generate_key())
    try:
        iid = store.add_instance("okta", "bench", {}, {}).id
        spent = 0.0
        for page in batches(n, batch, 5000):
            t = time.perf_counter()
            write = PageWrite.of(iid, "logs", page, None, enricher=enricher)
            store.save_pages([write])
            spent += time.perf_counter() - t
        return spent
    finally:
        store.close()


def sizes(path: Path) -> tuple[int, list[tuple[str, int]], int]:
    """(bytes of the file, (table or index, bytes) biggest first, interned enrichments)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        parts = conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 7"
        ).fetchall()
        rows = conn.execute("SELECT count(*) FROM enrichments").fetchone()[0]
        return pages * size, [(str(a), int(b)) for a, b in parts], int(rows)
    finally:
        conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--dir", default=None)
    args = p.parse_args()
    enricher = Enricher(
        ip_ranges=[r for name in DEMO_LISTS for r in load_ip_ranges(demo_list_path(name))]
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for label, e in (("without", None), ("with", enricher)):
            path = Path(tmp) / f"{label}.db"
            rate = args.n / fill(path, args.n, args.batch, e)
            size, parts, rows = sizes(path)
            print(f"{label}_enrichment: {size / args.n:,.1f} bytes per activity "
                  f"({rows:,} interned enrichments, {rate:,.0f} activities/s saved)")  # fmt: skip
            for name, part in parts:
                print(f"  {name}: {part / args.n:,.1f} bytes per activity")


if __name__ == "__main__":
    main()
