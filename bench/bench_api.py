"""Activity log API benchmark: p50 and p95 latency of ``GET /api/v1/activities`` (first page,
50 rows, with enrichment) for the common filters over N stored activities, on SQLite and
PostgreSQL.

Usage:
    .venv/bin/python bench/bench_api.py [--n 1000000] [--runs 40] [--no-pg]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep DIR]

The store is filled with bench_store's Okta-like activities (5,000 users, skewed; ~1.9 KB
raw each) in pages of 10,000. Each request goes through the whole app in-process (the
bearer token's check, the query, enrichment, JSON) with FastAPI's TestClient; the time is
the client's, request to parsed answer. Queries take turns, run by run, so that load from
other processes falls on all alike. ``--keep DIR`` keeps (and reuses) the SQLite file,
``--keep-pg SCHEMA`` the PostgreSQL schema.
The last cases filter by IP tag (``tag_ranges``: a dense tag, a sparse one and a feed of
10,000 addresses that matches nothing). Target: p95 under 300 ms for every filter. Output:
one table per engine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from bench_store import USERS, batches, save_new
from opencasb.config import Settings
from opencasb.crypto import generate_key
from opencasb.enrich import parse_ip_range
from opencasb.store import Store, open_store
from opencasb.web.app import create_app
from opencasb.web.auth.credentials import digest, new_api_token
from opencasb.web.context import WebContext

TARGET_MS = 300.0
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("unfiltered", {}),
    ("user (busiest)", {"user": "user0@example.com"}),
    ("user (typical)", {"user": f"user{USERS // 2}@example.com"}),
    ("ip", {"ip": "20.1.2.3"}),
    ("cidr /8", {"ip": "20.0.0.0/8"}),
    ("cidr /24", {"ip": "120.3.7.0/24"}),
    ("activity type", {"activity_type": "user.session.start"}),
    ("country", {"country": "JP"}),
    ("text", {"text": "salesforce"}),
    ("time range (1 h)", {"since": "2026-01-01T05:00:00Z", "until": "2026-01-01T06:00:00Z"}),
    ("user + time range", {"user": "user7@example.com", "since": "2026-01-01T05:00:00Z"}),
    ("type matching nothing", {"activity_type": "no.such.type"}),
    ("ip tag corporate", {"filter": '{"field": "ip_tags", "equals": "corporate"}'}),
    ("ip tag vpn", {"filter": '{"field": "ip_tags", "equals": "vpn"}'}),
    ("ip tag tor", {"filter": '{"field": "ip_tags", "equals": "tor"}'}),
]


def tor_addresses(n: int = 10_000) -> list[str]:
    """``n`` single addresses spread over the activities' first octets (20-219), none of
    them an activity's (second octets 100-149; bench_store's are below 16 up to 1,000,000
    activities) nor next to another: ``n`` spans, a feed like Tor's exit list."""
    return [f"{20 + i % 200}.{100 + i // 200 % 50}.{i * 7 % 256}.1" for i in range(n)]


def tag_ranges(store: Store) -> None:
    """The bench's IP tags (idempotent): ``corporate`` = 20.0.0.0/8 (user0's and a 200th of
    the others' addresses: many activities) from two overlapping sources, ``vpn`` =
    120.3.7.0/24 (few) and ``tor`` = 10,000 single addresses no activity has."""
    ranges = [parse_ip_range("20.0.0.0/8", "corporate"), parse_ip_range("120.3.7.0/24", "vpn")]
    ranges += [parse_ip_range(a, "tor") for a in tor_addresses()]
    store.ip_tags.import_ranges("file:bench.csv", ranges, created_by="bench")
    office = [parse_ip_range("20.1.0.0/16", "corporate")]  # overlaps the /8
    store.ip_tags.import_ranges("file:office.csv", office, created_by="bench")


def fill(store: Store, n: int) -> float:
    """Store ``n`` activities (unless the store has them already); seconds taken."""
    if store.count_activities() >= n:
        return 0.0
    iid = store.add_instance("okta", f"bench-{uuid.uuid4().hex[:6]}", {}, {}).id
    t = time.perf_counter()
    for page in batches(n, 10_000, USERS):
        save_new(store, iid, page)
    return time.perf_counter() - t


def measure(store: Store, runs: int) -> list[tuple[str, float, float, int]]:
    """(query, p50 ms, p95 ms, rows of the first page) per query."""
    ctx = WebContext(store=store, settings=Settings(), password_hasher=PasswordHasher())
    token = new_api_token()
    store.portal.add_token(f"bench-{uuid.uuid4().hex[:6]}", digest(token), token[:10],
                           "read_only", "bench")  # fmt: skip
    client = TestClient(create_app(ctx))
    client.headers["Authorization"] = f"Bearer {token}"
    times: dict[str, list[float]] = {name: [] for name, _ in QUERIES}
    rows: dict[str, int] = {}
    for name, params in QUERIES:  # warm-up: page cache, statement cache, enrichment cache
        r = client.get("/api/v1/activities", params=params)
        assert r.status_code == 200, (name, r.text)
        rows[name] = len(r.json()["items"])
    for _ in range(runs):
        for name, params in QUERIES:
            t = time.perf_counter()
            r = client.get("/api/v1/activities", params=params)
            r.json()
            times[name].append((time.perf_counter() - t) * 1000)
    out = []
    for name, _ in QUERIES:
        ts = sorted(times[name])
        p95 = ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))]
        out.append((name, statistics.median(ts), p95, rows[name]))
    return out


def table(engine: str, n: int, results: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{engine}: {n:,} activities, GET /api/v1/activities (50 rows, enriched)")
    print(f"{'filter':<24}{'p50 ms':>10}{'p95 ms':>10}{'rows':>7}  target p95 < {TARGET_MS:.0f} ms")
    for name, p50, p95, count in results:
        verdict = "ok" if p95 < TARGET_MS else "SLOW"
        print(f"{name:<24}{p50:>10.1f}{p95:>10.1f}{count:>7}  {verdict}")


@contextmanager
def pg_store(base: str, key: bytes, keep: str | None) -> Iterator[Store]:
    """A store in a new schema (dropped after), or in the schema ``keep`` (kept, reused)."""
    schema = keep or "bench_api_" + uuid.uuid4().hex[:8]
    dsn = base.replace("+psycopg", "")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    try:
        store = open_store(f"{base}?options=-csearch_path%3D{schema}", key=key)
        try:
            yield store
        finally:
            store.close()
    finally:
        if not keep:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--keep", default=None, help="directory to keep and reuse the SQLite file")
    p.add_argument("--keep-pg", default=None, help="PostgreSQL schema to keep and reuse")
    args = p.parse_args()
    key = generate_key()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(args.keep or tmp)
            keyfile = folder / "bench-api.key"
            if keyfile.exists():
                key = keyfile.read_bytes()
            else:
                folder.mkdir(parents=True, exist_ok=True)
                keyfile.write_bytes(key)
            store = open_store(f"sqlite:///{folder / 'bench-api.db'}", key=key)
            spent = fill(store, args.n)
            tag_ranges(store)
            print(f"sqlite_fill: {args.n:,} activities in {spent:.0f} s")
            table("SQLite", store.count_activities(), measure(store, args.runs))
            store.close()
    if not args.no_pg:
        with pg_store(args.pg, key, args.keep_pg) as store:
            spent = fill(store, args.n)
            tag_ranges(store)
            print(f"postgres_fill: {args.n:,} activities in {spent:.0f} s")
            table("PostgreSQL", store.count_activities(), measure(store, args.runs))


if __name__ == "__main__":
    main()
