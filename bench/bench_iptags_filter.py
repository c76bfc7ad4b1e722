"""Live ``ip_tags`` filter benchmark: p50/p95 of ``GET /api/v1/activities?filter=...`` (first
page, 50 rows) with ``ip_tags`` conditions, which compile to ``EXISTS`` over the stored
ranges (opencasb.filters.sql), over N stored activities on SQLite and PostgreSQL.

Usage:
    .venv/bin/python bench/bench_iptags_filter.py [--n 100000] [--runs 10] [--no-pg]

The store is bench_api's (bench_store's Okta-like activities); the ranges are 20.0.0.0/8
``corporate`` (many rows), 120.3.7.0/24 ``vpn`` (few) and 10,000 /32 ``tor`` addresses that
no activity has (a feed; a search by it reads every row to find nothing).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import bench_api
from bench_api import fill, measure, pg_store, table
from opencasb.crypto import generate_key
from opencasb.enrich import parse_ip_range
from opencasb.store import Store, open_store


def _f(doc: object) -> dict[str, str]:
    return {"filter": json.dumps(doc)}


QUERIES = [
    ("no filter", {}),
    ("tag corporate (many)", _f({"field": "ip_tags", "equals": "corporate"})),
    ("tag vpn (few)", _f({"field": "ip_tags", "equals": "vpn"})),
    ("tag tor (none)", _f({"field": "ip_tags", "equals": "tor"})),
    ("not corporate", _f({"field": "ip_tags", "not_equals": "corporate"})),
    ("tag is set", _f({"field": "ip_tags", "is_set": True})),
    ("user + not corporate", {"user": "user7@example.com",
                              **_f({"field": "ip_tags", "not_equals": "corporate"})}),
]  # fmt: skip


def tag(store: Store) -> None:
    ranges = [parse_ip_range("20.0.0.0/8", "corporate"), parse_ip_range("120.3.7.0/24", "vpn")]
    ranges += [parse_ip_range(f"185.220.{i // 250}.{i % 250}", "tor") for i in range(10_000)]
    store.ip_tags.import_ranges("file:bench.csv", ranges, created_by="bench")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    args = p.parse_args()
    bench_api.QUERIES = QUERIES  # measure() runs these
    key = generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}", key=key)
        fill(store, args.n)
        tag(store)
        table("SQLite", store.count_activities(), measure(store, args.runs))
        store.close()
    if not args.no_pg:
        with pg_store(args.pg, key, None) as store:
            fill(store, args.n)
            tag(store)
            table("PostgreSQL", store.count_activities(), measure(store, args.runs))


if __name__ == "__main__":
    main()
