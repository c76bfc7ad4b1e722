"""Train the zstd dictionaries the store compresses activity bodies with (store/dicts/).

    .venv/bin/python scripts/train_dicts.py --app okta --dict-id 3

Samples are what the store compresses (:func:`opencasb.store.codec.body_plaintext`) for the
sandbox generators' records, normalized by the app's own normalizer, over a few weeks of a
synthetic organisation, so every event type the generators make is represented in proportion.

A shipped dictionary is never changed: rows written with it must stay readable. To retrain,
pick the next unused id, write the new file, then add it to ``DICTIONARIES`` and make it the
app's current one in :mod:`opencasb.store.body`. Training is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import zstandard

from opencasb.apps.office365.normalize import normalize as o365_normalize
from opencasb.apps.okta.normalize import normalize as okta_normalize
from opencasb.sandbox.office365.generate import generate_records, tenant_for
from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.org import build_org
from opencasb.store.codec import body_plaintext

START = datetime(2026, 8, 3, tzinfo=UTC)
DICTS = Path(__file__).resolve().parents[1] / "src" / "opencasb" / "store" / "dicts"


def samples(app: str, people: int, days: int, seed: int) -> Iterator[bytes]:
    org = build_org(seed, people)
    end = START + timedelta(days=days)
    if app == "okta":
        for event, _persisted in generate_events(org, START, end):
            text = orjson.dumps(event).decode()
            yield body_plaintext(okta_normalize(event), text)
    else:
        for record, _published in generate_records(org, tenant_for(org), START, end):
            text = orjson.dumps(record).decode()
            yield body_plaintext(o365_normalize(record), text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--app", choices=["okta", "office365"], required=True)
    p.add_argument("--dict-id", type=int, required=True)
    p.add_argument("--size", type=int, default=112 * 1024, help="dictionary bytes")
    p.add_argument("--people", type=int, default=500)
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--samples", type=int, default=40_000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    pool = list(itertools.islice(samples(args.app, args.people, args.days, args.seed), 400_000))
    random.Random(args.seed).shuffle(pool)
    train, test = pool[: args.samples], pool[args.samples : args.samples + 5000]
    d = zstandard.train_dictionary(args.size, train, dict_id=args.dict_id, level=3, threads=1)
    out = DICTS / f"{args.app}-{args.dict_id}.zdict"
    out.write_bytes(d.as_bytes())
    plain = zstandard.ZstdCompressor(level=3)
    with_dict = zstandard.ZstdCompressor(level=3, dict_data=d, write_checksum=False)
    raw = sum(len(s) for s in test)
    print(f"{out.name}: {len(d.as_bytes()):,} bytes from {len(train):,} of {len(pool):,} samples")
    print(f"  test bodies: {raw / len(test):,.0f} bytes plain")
    print(f"  zstd alone: {sum(len(plain.compress(s)) for s in test) / len(test):,.0f} bytes")
    print(f"  with dict:  {sum(len(with_dict.compress(s)) for s in test) / len(test):,.0f} bytes")


if __name__ == "__main__":
    main()
