"""Live ``ip_tags`` filter benchmark, before and after on one filled store: p50/p95 of the
first page (50 rows, newest first) of activities with ``ip_tags`` conditions over N stored
activities, on SQLite and PostgreSQL.

Usage:
    .venv/bin/python bench/bench_iptags_filter.py [--n 1000000] [--runs 20] [--no-pg]
        [--keep DIR] [--keep-pg SCHEMA] [--cap 20]

The store is bench_api's (bench_store's Okta-like activities; ``--keep``/``--keep-pg`` reuse
a filled one, as in bench_api) and its IP tags (``bench_api.tag_ranges``): ``corporate``
(20.0.0.0/8 and an overlapping /16 from another source: many activities), ``vpn``
(120.3.7.0/24: few) and ``tor`` (10,000 single addresses, 10,000 spans, none an activity's).

Two tables per engine, from the same database:

* ``query``: ``Store.query_activities`` with the filter's SQL, ``after`` as compiled now
  (merged spans, resolved on the query's connection: store.iptag_spans) and ``before`` as
  compiled before (``EXISTS`` over every stored range holding the row's address, one
  per-row scan of the ranges). A ``before`` statement is stopped after ``--cap`` seconds
  and run once: it reads every row when nothing matches.
* ``api``: ``GET /api/v1/activities?filter=...`` through the whole app (bench_api.measure),
  after only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, literal, or_, select
from sqlalchemy.exc import DBAPIError

import bench_api
from bench_api import fill, measure, pg_store, table, tag_ranges
from opencasb.crypto import generate_key
from opencasb.filters import compile_sql, parse_filter
from opencasb.store import ActivityQuery, Store, open_store
from opencasb.store.instances import instance_names
from opencasb.store.iptags import holds
from opencasb.store.query import build_select
from opencasb.store.schema import activities, ip_tags


def _f(doc: object) -> dict[str, str]:
    return {"filter": json.dumps(doc)}


QUERIES = [
    ("no filter", {}),
    ("tag corporate (many)", _f({"field": "ip_tags", "equals": "corporate"})),
    ("tag vpn (few)", _f({"field": "ip_tags", "equals": "vpn"})),
    ("tag tor (10k spans)", _f({"field": "ip_tags", "equals": "tor"})),
    ("tag unknown (none)", _f({"field": "ip_tags", "equals": "no_such_tag"})),
    ("not corporate", _f({"field": "ip_tags", "not_equals": "corporate"})),
    ("tag is set", _f({"field": "ip_tags", "is_set": True})),
    ("tag contains 'or'", _f({"field": "ip_tags", "contains": "or"})),
    ("user + not corporate", {"user": "user7@example.com",
                              **_f({"field": "ip_tags", "not_equals": "corporate"})}),
]  # fmt: skip


def old_where(doc: dict[str, Any]) -> ColumnElement[bool]:
    """The filter as compiled before the spans (filters/sql.py at 63580eb), for the
    conditions QUERIES uses: EXISTS over the ``ip_tags`` rows holding the address."""
    key = activities.c.ip_key
    ranges = select(ip_tags.c.id).where(holds(key))
    tag = ip_tags.c.tag + literal("")
    if "is_set" in doc:
        return exists(ranges)
    if "contains" in doc:
        return exists(ranges.where(tag.contains(doc["contains"], autoescape=True)))
    value = doc.get("equals", doc.get("not_equals"))
    cond = exists(ranges.where(or_(tag == value)))
    return ~cond if "not_equals" in doc else cond


def _q(params: dict[str, str], where: ColumnElement[bool] | None) -> ActivityQuery:
    return ActivityQuery(user=params.get("user"), limit=50, where=where)


@contextmanager
def _capped(store: Store, seconds: float) -> Iterator[Connection]:
    """A connection whose statements stop after ``seconds`` (DBAPIError)."""
    with store.engine.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        if store.engine.dialect.name == "sqlite":
            deadline = [0.0]
            raw.set_progress_handler(lambda: int(time.perf_counter() > deadline[0]), 10_000)
            conn.info["deadline"] = deadline
        else:  # for this transaction only, which the block ends
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
        try:
            yield conn
        finally:
            if store.engine.dialect.name == "sqlite":
                raw.set_progress_handler(None, 0)
            conn.rollback()


def _before(store: Store, params: dict[str, str], cap: float) -> float | None:
    """ms of the old statement (users resolved as the query does), or None past ``cap``."""
    if "filter" not in params:
        return None
    from opencasb.store.query import matching_actors

    doc = json.loads(params["filter"])
    q = _q(params, old_where(doc))
    names = instance_names(store._db)
    sqlite = store.engine.dialect.name == "sqlite"
    with _capped(store, cap) as conn:
        refs = matching_actors(conn, q.user, None) if q.user else None
        stmt = build_select(q, names, q.limit + 1, refs, sqlite=sqlite)
        if sqlite:
            conn.info["deadline"][0] = time.perf_counter() + cap
        t = time.perf_counter()
        try:
            conn.execute(stmt).all()
        except DBAPIError:
            return None
        return (time.perf_counter() - t) * 1000


def _after(store: Store, params: dict[str, str]) -> Callable[[], int]:
    flt = parse_filter(json.loads(params["filter"])) if "filter" in params else None
    where = compile_sql(flt).where if flt is not None else None
    q = _q(params, where)
    return lambda: len(store.query_activities(q).items)


def compare(store: Store, runs: int, cap: float) -> None:
    """The query-level table: after (p50/p95 of ``runs``) and before (one run, capped)."""
    after = {name: _after(store, params) for name, params in QUERIES}
    rows = {name: run() for name, run in after.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in after}
    for _ in range(runs):
        for name, run in after.items():
            t = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - t) * 1000)
    engine = store.engine.dialect.name
    print(f"\n{engine}: {store.count_activities():,} activities, query_activities (50 rows)")
    print(f"{'filter':<24}{'p50 ms':>9}{'p95 ms':>9}{'rows':>6}{'before ms':>12}{'ratio':>8}")
    for name, params in QUERIES:
        ts = sorted(times[name])
        p50, p95 = statistics.median(ts), ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))]
        if "filter" in params:
            old = _before(store, params, cap)
            before = f"> {cap * 1000:.0f}" if old is None else f"{old:.1f}"
            ratio = f">{cap * 1000 / p50:.0f}x" if old is None else f"{old / p50:.0f}x"
        else:
            before = ratio = "-"
        print(f"{name:<24}{p50:>9.1f}{p95:>9.1f}{rows[name]:>6}{before:>12}{ratio:>8}")


def run(store: Store, engine: str, args: argparse.Namespace) -> None:
    spent = fill(store, args.n)
    tag_ranges(store)
    print(f"{engine}: filled in {spent:.0f} s")
    compare(store, args.runs, args.cap)
    table(engine, store.count_activities(), measure(store, args.runs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--cap", type=float, default=20.0, help="seconds a 'before' query may run")
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--keep", default=None, help="directory to keep and reuse the SQLite file")
    p.add_argument("--keep-pg", default=None, help="PostgreSQL schema to keep and reuse")
    args = p.parse_args()
    bench_api.QUERIES = QUERIES  # measure() runs these
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
            run(store, "SQLite", args)
            store.close()
    if not args.no_pg:
        with pg_store(args.pg, key, args.keep_pg) as store:
            run(store, "PostgreSQL", args)


if __name__ == "__main__":
    main()
