"""Store benchmark: size per activity, ingest rate and query latency, BEFORE and AFTER the
compact layout (revision 0002), in one run.

Usage:
    .venv/bin/python bench/bench_store.py [--n 1000000] [--ingest 50000] [--batch 1000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg] [--dir /tmp]

"Before" is the old layout (one column per field, the raw record as JSON text) written and
read by ``old_layout.py``, a frozen copy of the old encoder, reader and query shapes; "after"
is the store as it is. Both get the same Okta-like activities (~1.9 KB raw each).

Ingest is measured over ``--ingest`` activities, ``--batch`` per page, one page per
transaction; only the time inside the save call counts (encoding included, generation
excluded). Then ``--n`` activities are stored in each layout (SQLite, pages of 10,000) and
measured: bytes per activity on disk (WAL checkpointed) and the median latency of each
query's first page (100 rows): a user filter (busiest user, typical user, by id),
unfiltered, CIDR, filters without an index of their own (activity type, country; an
activity type that matches nothing, the full-scan worst case), and the text filter.
Output lines are ``name: value unit``.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from old_layout import old_query, open_old_store, save_old_page
from opencasb.crypto import generate_key
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import ActivityQuery, PageWrite, Store, open_store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_TYPES = [
    ("user.session.start", Category.LOGON, "User login to Okta"),
    ("user.authentication.sso", Category.SSO, "User single sign on to app"),
    ("user.authentication.auth_via_mfa", Category.MFA, "Authentication of user via MFA"),
    ("policy.evaluate_sign_on", Category.SECURITY, "Evaluation of sign-on policy"),
    ("user.account.update_password", Category.USER_MANAGEMENT, "User update password for Okta"),
]
CITIES = [
    ("United States", "US", "California", "San Francisco", 37.77, -122.41),
    ("Germany", "DE", "Berlin", "Berlin", 52.52, 13.40),
    ("France", "FR", "Ile-de-France", "Paris", 48.85, 2.35),
    ("Japan", "JP", "Tokyo", "Tokyo", 35.68, 139.69),
]
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)


def user_of(rng: random.Random, users: int) -> int:
    # Skewed: a few service accounts and admins are far busier than everyone else.
    return int(users * rng.random() ** 3)  # user0 ~6%, median user ~0.01% of events


def okta_activity(i: int, rng: random.Random, users: int) -> Activity:
    u = user_of(rng, users)
    etype, cat, msg = EVENT_TYPES[i % len(EVENT_TYPES)]
    country, cc, region, city, lat, lon = CITIES[(i // 7) % len(CITIES)]
    ip = f"{(u % 200) + 20}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    email = f"user{u}@example.com"
    published = T0 + timedelta(milliseconds=i * 37)
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    ok = i % 11 != 0
    raw: dict[str, Any] = {
        "actor": {
            "id": f"00u{u:017d}",
            "type": "User",
            "alternateId": email,
            "displayName": f"User {u}",
            "detailEntry": None,
        },
        "client": {
            "userAgent": {"rawUserAgent": UA, "os": "Mac OS X", "browser": "CHROME"},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": {
                "city": city,
                "state": region,
                "country": country,
                "postalCode": "94107",
                "geolocation": {"lat": lat, "lon": lon},
            },
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "externalSessionId": f"102{event_id[:20]}",
        },
        "displayMessage": msg,
        "eventType": etype,
        "outcome": {
            "result": "SUCCESS" if ok else "FAILURE",
            "reason": None if ok else "INVALID_CREDENTIALS",
        },
        "published": published.isoformat().replace("+00:00", "Z"),
        "securityContext": {
            "asNumber": 7922,
            "asOrg": "comcast",
            "isp": "comcast cable",
            "domain": "comcast.net",
            "isProxy": False,
        },
        "severity": "INFO",
        "debugContext": {
            "debugData": {
                "requestId": f"Zx{event_id.replace('-', '')}AAAB",
                "requestUri": "/idp/idx/authenticators/poll",
                "url": "/idp/idx/authenticators/poll?",
                "threatSuspected": "false",
                "risk": "{level=LOW}",
                "behaviors": "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE}",
                "dtHash": "a9c6b2b4e4f1d0c3b5a7e8f9d0c1b2a3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9",
            }
        },
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": f"Zx{event_id[:24]}", "detail": {}},
        "uuid": event_id,
        "version": "0",
        "request": {
            "ipChain": [
                {
                    "ip": ip,
                    "geographicalContext": {"city": city, "country": country},
                    "version": "V4",
                    "source": None,
                }
            ]
        },
        "target": [
            {
                "id": "0oa1gjh63g214q0Hq0g4",
                "type": "AppInstance",
                "alternateId": "Salesforce.com",
                "displayName": "Salesforce.com",
                "detailEntry": {"signOnModeType": "SAML_2_0"},
            }
        ],
    }
    return Activity(
        time=published,
        app="okta",
        source_event_id=event_id,
        activity_type=etype,
        category=cat,
        action=msg,
        outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
        actor=Actor(f"00u{u:017d}", f"User {u}", email, "User"),
        raw=raw,
        outcome_reason=None if ok else "INVALID_CREDENTIALS",
        targets=(
            Target("0oa1gjh63g214q0Hq0g4", "AppInstance", "Salesforce.com", "Salesforce.com"),
        ),
        src_ip=ip,
        geo=Geo(country, cc, region, city, lat, lon),
        asn=7922,
        isp="comcast cable",
        user_agent=UA,
        device="Computer",
        severity="INFO",
        description=msg,
        details={"authenticationStep": 0, "risk": "{level=LOW}"},
    )


def batches(n: int, size: int, users: int, seed: int = 7) -> Iterator[list[Activity]]:
    rng = random.Random(seed)
    for start in range(0, n, size):
        yield [okta_activity(i, rng, users) for i in range(start, min(n, start + size))]


Save = Callable[[Store, int, list[Activity]], object]


def save_new(store: Store, iid: int, page: list[Activity]) -> None:
    # enriched as ingest enriches (the country filter reads the enriched country code)
    cursor = {"after": page[-1].source_event_id}
    store.save_pages([PageWrite.of(iid, "logs", page, cursor, enricher=store.enricher)])


def ingest(store: Store, n: int, batch: int, users: int, save: Save = save_new) -> float:
    """Activities per second inside the save call (generation excluded)."""
    iid = store.add_instance("okta", f"bench-{uuid.uuid4().hex[:6]}", {}, {}).id
    spent = 0.0
    for page in batches(n, batch, users):
        t = time.perf_counter()
        save(store, iid, page)
        spent += time.perf_counter() - t
    return n / spent


def ingest_both(
    stores: dict[str, tuple[Store, Save]], n: int, batch: int, users: int
) -> dict[str, tuple[float, float]]:
    """Activities per second inside the save call of each layout, wall and CPU, the layouts
    taking turns page by page (the same pages), so that load from other processes on the
    machine falls on both alike."""
    iids = {
        k: s.add_instance("okta", f"bench-{uuid.uuid4().hex[:6]}", {}, {}).id
        for k, (s, _save) in stores.items()
    }
    wall = dict.fromkeys(stores, 0.0)
    cpu = dict.fromkeys(stores, 0.0)
    for page in batches(n, batch, users):
        for k, (s, save) in stores.items():
            t, c = time.perf_counter(), time.process_time()
            save(s, iids[k], page)
            cpu[k] += time.process_time() - c
            wall[k] += time.perf_counter() - t
    return {k: (n / wall[k], n / cpu[k]) for k in stores}


def interleaved_ms(
    runs_of: dict[str, Callable[[], object]], runs: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) milliseconds of each callable, run alternately ``runs`` times each
    after one warm-up run each (page cache, statement cache). CPU time is this process's:
    with the database in the page cache a query is all CPU, and on a shared machine wall
    time also counts the other processes' turns."""
    walls: dict[str, list[float]] = {k: [] for k in runs_of}
    cpus: dict[str, list[float]] = {k: [] for k in runs_of}
    for run in runs_of.values():
        run()
    for _ in range(runs):
        for k, run in runs_of.items():
            t, c = time.perf_counter(), time.process_time()
            run()
            cpus[k].append((time.process_time() - c) * 1000)
            walls[k].append((time.perf_counter() - t) * 1000)
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in runs_of}


def db_bytes(store: Store, path: Path) -> int:
    """The database's size on disk, its WAL checkpointed into it first."""
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))


# The query set: (name, new query, keyword arguments of old_layout.old_query, runs).
USERS = 5000
QUERIES: list[tuple[str, ActivityQuery, dict[str, Any], int]] = [
    (
        "user_query_busiest",
        ActivityQuery(user="user0@example.com"),
        {"user": "user0@example.com"},
        15,
    ),
    (
        "user_query_typical",
        ActivityQuery(user=f"user{USERS // 2}@example.com"),
        {"user": f"user{USERS // 2}@example.com"},
        15,
    ),
    ("user_query_by_id", ActivityQuery(user="00u" + "0" * 17), {"user": "00u" + "0" * 17}, 15),
    ("unfiltered_first_page", ActivityQuery(), {}, 15),
    ("cidr_query", ActivityQuery(ip="20.0.0.0/8"), {"ip": "20.0.0.0/8"}, 15),
    # Filters without an index of their own scan the time index newest first: fast when
    # matches are common, a full scan when there are none (the worst case, shown too).
    (
        "activity_type_query",
        ActivityQuery(activity_type="user.session.start"),
        {"activity_type": "user.session.start"},
        15,
    ),
    ("country_query", ActivityQuery(country="JP"), {"country_code": "JP"}, 15),
    (
        "activity_type_absent",
        ActivityQuery(activity_type="no.such.type"),
        {"activity_type": "no.such.type"},
        3,
    ),
    # The text filter (not in the original set): a common match, and one that matches
    # nothing (a scan of every row).
    ("text_query_common", ActivityQuery(text="salesforce"), {"text_filter": "salesforce"}, 5),
    ("text_query_absent", ActivityQuery(text="no such text"), {"text_filter": "no such text"}, 1),
]


def old_runner(store: Store, kwargs: dict[str, Any]) -> Callable[[], object]:
    return functools.partial(old_query, store, **kwargs)


def _rates_text(rates: dict[str, tuple[float, float]]) -> str:
    (wall_b, cpu_b), (wall_a, cpu_a) = rates["before"], rates["after"]
    return (
        f"before {wall_b:,.0f}, after {wall_a:,.0f} activities/s "
        f"(after/before {wall_a / wall_b:.2f}; per CPU-second before {cpu_b:,.0f}, "
        f"after {cpu_a:,.0f}, after/before {cpu_a / cpu_b:.2f})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="activities for the query bench")
    p.add_argument("--ingest", type=int, default=50_000, help="activities for ingest bench")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--dir", default=None, help="where to put the SQLite files")
    args = p.parse_args()
    users = USERS

    sample = next(batches(1, 1, users))[0]
    print(f"raw_record_size: {len(orjson.dumps(sample.raw))} bytes")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        key = generate_key()
        pair = {
            "before": (
                open_old_store(f"sqlite:///{Path(tmp) / 'ingest-before.db'}", key),
                save_old_page,
            ),
            "after": (open_store(f"sqlite:///{Path(tmp) / 'ingest-after.db'}", key=key), save_new),
        }
        rates = ingest_both(pair, args.ingest, args.batch, users)
        for s, _save in pair.values():
            s.close()
        print("sqlite_ingest: " + _rates_text(rates))

        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:8]
            dsn = args.pg.replace("+psycopg", "")
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f"CREATE SCHEMA {schema}")
            try:
                pg = open_store(f"{args.pg}?options=-csearch_path%3D{schema}", key=key)
                rate = ingest(pg, args.ingest, args.batch, users)
                print(f"postgres_ingest: after {rate:,.0f} activities/s")
                pg.close()
            finally:
                with psycopg.connect(dsn, autocommit=True) as c:
                    c.execute(f"DROP SCHEMA {schema} CASCADE")

        paths = {layout: Path(tmp) / f"query-{layout}.db" for layout in ("before", "after")}
        stores: dict[str, Store] = {
            "before": open_old_store(f"sqlite:///{paths['before']}", key),
            "after": open_store(f"sqlite:///{paths['after']}", key=key),
        }
        saves: dict[str, Save] = {"before": save_old_page, "after": save_new}
        t = time.perf_counter()
        rates = ingest_both({k: (s, saves[k]) for k, s in stores.items()}, args.n, 10_000, users)
        print(
            f"sqlite_fill: {args.n:,} activities into each layout in "
            f"{time.perf_counter() - t:.1f} s; " + _rates_text(rates)
        )
        for layout, s in stores.items():
            size = db_bytes(s, paths[layout])
            print(
                f"sqlite_db_size_{layout}: {size / 1e9:.3f} GB, "
                f"{size / args.n:,.0f} bytes per activity"
            )
        after = stores["after"]
        busy = after.iter_activities(ActivityQuery(user="user0@example.com"), batch_size=5000)
        print(f"sqlite_busiest_user_rows: {sum(1 for _ in busy)} rows")
        # Before and after alternate, run by run, so that load from other processes on the
        # machine falls on both alike.
        for name, q, old_kwargs, runs in QUERIES:
            by = interleaved_ms(
                {
                    "before": old_runner(stores["before"], old_kwargs),
                    "after": functools.partial(after.query_activities, q),
                },
                runs,
            )
            (wall_b, cpu_b), (wall_a, cpu_a) = by["before"], by["after"]
            print(
                f"sqlite_{name}: before {wall_b:.2f} ms, after {wall_a:.2f} ms "
                f"(after/before {wall_a / wall_b:.2f}; CPU before {cpu_b:.2f} ms, "
                f"after {cpu_a:.2f} ms, after/before {cpu_a / max(cpu_b, 1e-9):.2f})"
            )
        for s in stores.values():
            s.close()


if __name__ == "__main__":
    main()
