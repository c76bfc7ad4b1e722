"""Cost of the anomaly detectors (all of them, medium sensitivity, 1-day learning).

Run: ``.venv/bin/python bench/bench_anomaly.py [--seed 7] [--size 120] [--days 8]``. Builds
the sandbox's organisation (everyday activity and the labelled scenarios), normalizes and
enriches all it serves (shipped database, the demo's IP lists), then evaluates in batches of
1,000 with the state through JSON between batches, as a stage runner would. Prints the best of
three rounds in microseconds per activity, the state's size, and the findings per detector.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench_policies import records
from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState
from opencasb.detect.engine import Finding, Observed
from opencasb.enrich import Enricher, load_ip_ranges
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path

ROUNDS = int(__import__("os").environ.get("ROUNDS", "3"))
BATCH = 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=120)
    parser.add_argument("--days", type=int, default=8)
    args = parser.parse_args()
    okta_raw, o365_raw = records(args.seed, args.size, args.days)
    acts = [normalize_okta(r) for r in okta_raw] + [normalize_o365(r) for r in o365_raw]
    unique = {(a.app, a.source_event_id): a for a in acts}
    ordered = sorted(unique.values(), key=lambda a: (a.time, a.source_event_id))
    enricher = Enricher(
        ip_ranges=[r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))]
    )
    observed = [Observed(i, a, enricher.enrich(a)) for i, a in enumerate(ordered)]
    engine = AnomalyEngine(
        AnomalySettings(learning=timedelta(days=1)),
        clock=FakeClock(datetime(2026, 10, 27, 12, tzinfo=UTC)),
    )
    best = float("inf")
    findings: list[Finding] = []
    state = AnomalyState()
    for _ in range(ROUNDS):
        findings, state = [], AnomalyState()
        t0 = time.process_time()
        for start in range(0, len(observed), BATCH):
            found, state = engine.evaluate_observed(observed[start : start + BATCH], state)
            state = AnomalyState.from_json(state.to_json())
            findings += found
        best = min(best, time.process_time() - t0)
    print(f"activities: {len(observed):,}")
    print(f"anomaly detectors: {best / len(observed) * 1e6:.1f} us/activity (CPU), "
          f"{len(observed) / best:,.0f} activities per CPU-second, best of {ROUNDS}")  # fmt: skip
    print(f"state: {len(state.to_json()):,} bytes for {len(state.users)} users")
    for pid, n in sorted(Counter(f.policy_id for f in findings).items()):
        print(f"  {pid}: {n}")


if __name__ == "__main__":
    main()
