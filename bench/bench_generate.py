"""How fast the synthetic organisation's generators produce Okta events and Office 365 records.

    .venv/bin/python bench/bench_generate.py                       # 10,000 people, 60 days
    .venv/bin/python bench/bench_generate.py --size 2000 --days 7 --apps okta

For each app prints ``<app> generator: N events/s`` (records yielded per second of wall time,
the app's per-person templates included, building the org itself not), the count and the
time, then the share of each event type (Okta ``eventType``, Office 365 ``RecordType``).
Okta's window is on ``published`` time, Office 365's on publication time, as each emulator
serves them. Records are counted, not kept, so memory stays flat for any window.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.sandbox.office365.generate import generate_records, tenant_for
from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.org import Organisation, build_org

START = datetime(2026, 8, 3, tzinfo=UTC)  # a Monday


def okta(org: Organisation, end: datetime) -> Iterator[str]:
    for event, _persisted in generate_events(org, START, end):
        yield str(event["eventType"])


def office365(org: Organisation, end: datetime) -> Iterator[str]:
    for record, _published in generate_records(org, tenant_for(org), START, end):
        yield f"RecordType {int(record['RecordType'])}"


APPS: dict[str, tuple[str, Callable[[Organisation, datetime], Iterator[Any]]]] = {
    "okta": ("events", okta),
    "office365": ("records", office365),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apps", default="okta,office365")
    parser.add_argument("--top", type=int, default=8, help="event types to list per app")
    args = parser.parse_args()
    began = time.perf_counter()
    org = build_org(args.seed, args.size)
    print(f"org: {args.size:,} people built in {time.perf_counter() - began:.1f} s")
    end = START + timedelta(days=args.days)
    for name in args.apps.split(","):
        unit, generate = APPS[name]
        kinds: Counter[str] = Counter()
        began = time.perf_counter()
        for kind in generate(org, end):
            kinds[kind] += 1
        elapsed = time.perf_counter() - began
        total = sum(kinds.values())
        print(f"{name} generator: {total / elapsed:,.0f} {unit}/s")
        print(f"  {total:,} {unit} in {elapsed:.1f} s ({args.size:,} people, {args.days} days)")
        for kind, n in kinds.most_common(args.top):
            print(f"  {kind}: {n / total:.1%}")


if __name__ == "__main__":
    main()
