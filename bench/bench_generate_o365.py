"""How fast the synthetic Office 365 tenant generates audit records.

    .venv/bin/python bench/bench_generate_o365.py                  # 10,000 people, 7 days
    .venv/bin/python bench/bench_generate_o365.py --size 2000 --days 2

Prints ``o365 generator: N records/s`` (records yielded by ``generate_records`` per second of
wall time, building the org's templates included, building the org itself not), then the
count, the time and the share of each RecordType.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from opencasb.sandbox.office365.generate import generate_records, tenant_for
from opencasb.sandbox.org import build_org


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    org = build_org(args.seed, args.size)
    start = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
    kinds: Counter[int] = Counter()
    began = time.perf_counter()
    for record, _published in generate_records(
        org, tenant_for(org), start, start + timedelta(days=args.days)
    ):
        kinds[int(record["RecordType"])] += 1
    elapsed = time.perf_counter() - began
    total = sum(kinds.values())
    print(f"o365 generator: {total / elapsed:,.0f} records/s")
    print(f"records: {total:,} in {elapsed:.1f} s ({args.size:,} people, {args.days} days)")
    for record_type, n in kinds.most_common():
        print(f"  RecordType {record_type}: {n / total:.1%}")


if __name__ == "__main__":
    main()
