"""Store benchmark: ingest throughput (SQLite, PostgreSQL) and user-filter query latency.

Usage:
    .venv/bin/python bench/bench_store.py [--n 1000000] [--ingest 50000] [--batch 1000]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--no-pg] [--dir /tmp]

Ingest is measured with save_pages over pre-built Okta-like activities (~1.5 KB raw each),
``--batch`` per page; only the time inside save_pages counts. The query figures are
median latencies of the first page (100 rows) over ``--n`` stored activities on SQLite: a
user filter (busiest user, typical user, by id) and filters without an index of their own
(activity type, country; and an activity type that matches nothing, the full-scan worst
case). Output lines are
``name: value unit``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

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


def ingest(store: Store, n: int, batch: int, users: int) -> float:
    """Activities per second inside save_pages (generation excluded)."""
    iid = store.add_instance("okta", f"bench-{uuid.uuid4().hex[:6]}", {}, {}).id
    spent = 0.0
    for page in batches(n, batch, users):
        t = time.perf_counter()
        cursor = {"after": page[-1].source_event_id}
        store.save_pages([PageWrite.of(iid, "logs", page, cursor)])
        spent += time.perf_counter() - t
    return n / spent


def median_ms(store: Store, q: ActivityQuery, runs: int = 15) -> float:
    store.query_activities(q)  # warm the page cache and the statement cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        store.query_activities(q)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="activities for the query bench")
    p.add_argument("--ingest", type=int, default=50_000, help="activities for ingest bench")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--dir", default=None, help="where to put the SQLite files")
    args = p.parse_args()

    raw_size = len(orjson.dumps(next(batches(1, 1, args.users))[0].raw))
    print(f"raw_record_size: {raw_size} bytes")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        s = open_store(f"sqlite:///{Path(tmp) / 'ingest.db'}", key=generate_key())
        print(f"sqlite_ingest: {ingest(s, args.ingest, args.batch, args.users):,.0f} activities/s")
        s.close()

        if not args.no_pg:
            schema = "bench_" + uuid.uuid4().hex[:8]
            dsn = args.pg.replace("+psycopg", "")
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f"CREATE SCHEMA {schema}")
            try:
                pg = open_store(f"{args.pg}?options=-csearch_path%3D{schema}", key=generate_key())
                rate = ingest(pg, args.ingest, args.batch, args.users)
                print(f"postgres_ingest: {rate:,.0f} activities/s")
                pg.close()
            finally:
                with psycopg.connect(dsn, autocommit=True) as c:
                    c.execute(f"DROP SCHEMA {schema} CASCADE")

        s = open_store(f"sqlite:///{Path(tmp) / 'query.db'}", key=generate_key())
        t = time.perf_counter()
        rate = ingest(s, args.n, 10_000, args.users)
        print(
            f"sqlite_fill: {args.n:,} activities in {time.perf_counter() - t:.1f} s "
            f"({rate:,.0f} activities/s in save_pages)"
        )
        busiest = "user0@example.com"
        typical = f"user{args.users // 2}@example.com"
        busy_rows = sum(1 for _ in s.iter_activities(ActivityQuery(user=busiest), batch_size=5000))
        print(f"sqlite_busiest_user_rows: {busy_rows} rows")
        print(f"sqlite_user_query_busiest: {median_ms(s, ActivityQuery(user=busiest)):.2f} ms")
        print(f"sqlite_user_query_typical: {median_ms(s, ActivityQuery(user=typical)):.2f} ms")
        print(
            f"sqlite_user_query_by_id: {median_ms(s, ActivityQuery(user='00u' + '0' * 17)):.2f} ms"
        )
        print(f"sqlite_unfiltered_first_page: {median_ms(s, ActivityQuery()):.2f} ms")
        print(f"sqlite_cidr_query: {median_ms(s, ActivityQuery(ip='20.0.0.0/8')):.2f} ms")
        # Filters without an index of their own scan the time index newest first: fast when
        # matches are common, a full scan when there are none (the worst case, shown too).
        common = ActivityQuery(activity_type="user.session.start")
        print(f"sqlite_activity_type_query: {median_ms(s, common):.2f} ms")
        print(f"sqlite_country_query: {median_ms(s, ActivityQuery(country='JP')):.2f} ms")
        absent = ActivityQuery(activity_type="no.such.type")
        print(f"sqlite_activity_type_absent: {median_ms(s, absent, runs=3):.2f} ms")
        size = sum(f.stat().st_size for f in Path(tmp).glob("query.db*"))
        print(f"sqlite_db_size: {size / 1e9:.2f} GB")
        s.close()


if __name__ == "__main__":
    main()
