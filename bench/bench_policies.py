"""Cost of the activity-policy engine with every shipped template switched on.

Run: ``.venv/bin/python bench/bench_policies.py [--seed 7] [--size 120] [--days 8]``. Builds
the sandbox's organisation (everyday activity and the labelled scenarios), normalizes all it
serves, tags addresses with the demo's IP lists, then evaluates every template (enabled; the
break-glass one scoped to one account) in batches of 1,000, as a stage runner would. Prints
the best of three rounds in microseconds per activity and activities per second, beside the
cost of normalizing the same records (what ingest pays per activity anyway), and the findings
per template.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.detect import EngineState, Observed, PolicyEngine, Scope, load_templates
from opencasb.enrich import Enrichment, IpTagMatcher, load_ip_ranges, parse_ip
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.sandbox.office365_sandbox import build_o365_sandbox
from opencasb.sandbox.okta import generate_rsa_keypair
from opencasb.sandbox.okta_sandbox import build_okta_sandbox
from opencasb.sandbox.scenarios import sandbox_plan

ROUNDS = 3
BATCH = 1_000


def _signing_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def records(seed: int, size: int, days: int) -> tuple[list[Any], list[Any]]:
    anchor = datetime(2026, 10, 27, 12, tzinfo=UTC)
    plan = sandbox_plan(seed, size, anchor, days)
    okta = build_okta_sandbox(
        seed=seed, size=size, days=days, clock=FakeClock(anchor), anchor=anchor,
        oauth_key_pem=generate_rsa_keypair(), scenarios=plan,
    )  # fmt: skip
    o365 = build_o365_sandbox(
        seed=seed, size=size, days=days, clock=FakeClock(anchor), anchor=anchor,
        signing_key=_signing_key(), scenarios=plan,
    )  # fmt: skip
    okta_raw = [orjson.loads(b) for b in okta.state.log.iter_blobs()]
    o365_raw = [orjson.loads(r) for b in o365.state.blobs.all_blobs() for r in b.records]
    return okta_raw, o365_raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=120)
    parser.add_argument("--days", type=int, default=8)
    args = parser.parse_args()
    okta_raw, o365_raw = records(args.seed, args.size, args.days)

    t0 = time.perf_counter()
    acts = [normalize_okta(r) for r in okta_raw] + [normalize_o365(r) for r in o365_raw]
    normalize_us = (time.perf_counter() - t0) / len(acts) * 1e6
    unique = {(a.app, a.source_event_id): a for a in acts}
    ordered = sorted(unique.values(), key=lambda a: (a.time, a.source_event_id))
    tags = IpTagMatcher([r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))])
    observed = [
        Observed(i, a, Enrichment(ip_tags=tuple(sorted(tags.tags(parse_ip(a.src_ip))))))
        if a.src_ip
        else Observed(i, a)
        for i, a in enumerate(ordered)
    ]
    policies = []
    for p in load_templates():
        p = dataclasses.replace(p, enabled=True)
        if p.id == "break-glass-account-used":
            p = dataclasses.replace(p, scope=Scope(include_users=frozenset({"admin@example.com"})))
        policies.append(p)
    now = ordered[-1].time + timedelta(hours=1)
    engine = PolicyEngine(policies, clock=FakeClock(now))

    best = float("inf")
    per_policy: Counter[str] = Counter()
    for _ in range(ROUNDS):
        state, findings = EngineState(), []
        t0 = time.perf_counter()
        for start in range(0, len(observed), BATCH):
            found, state = engine.evaluate(observed[start : start + BATCH], state)
            findings += found
        best = min(best, time.perf_counter() - t0)
        per_policy = Counter(f.policy_id for f in findings)
    us = best / len(observed) * 1e6
    print(f"activities: {len(observed):,}  policies: {len(policies)}  batch: {BATCH:,}")
    print(f"policy engine: {us:.1f} us/activity ({len(observed) / best:,.0f} activities/s)")
    print(f"normalize (reference, once): {normalize_us:.1f} us/activity")
    print(f"state after the run: {len(state.to_json()):,} bytes of JSON")
    for p in policies:
        print(f"  {p.id:34} {per_policy[p.id]:5} findings")


if __name__ == "__main__":
    main()
