"""Cost of the detection engines alone (no store, no read), and their exact output.

Run: ``.venv/bin/python bench/bench_detection_engines.py [--seed 7] [--size 300] [--days 8]
[--batch 5000] [--rounds 5] [--out findings.json] [--profile out.txt] [--needs]``.

Builds what ``bench_detection_cost.py`` detects on (the sandbox's organisation, stored in a
SQLite store with the demo's IP lists, read back as the detection stage reads it), then
times, with everything already in memory, the policy engine (the demo's policies, as the
stage evaluates them: ``PolicyEngine.evaluate`` per batch) and the anomaly engine
(``AnomalyEngine.observe`` per activity, as the stage does), each the best of ``--rounds``
in processor time, with the cyclic collector off as in the stage. ``--out`` writes every
finding and both final states as JSON: two versions of the engines that write the same file
find the same things.

``--needs`` prints instead which activities need their body decoded at all: those some
policy could match, those with an anomaly step other than the disabled-user detector (which
is gated on the user's status alone), and how many need neither, knowing their category, and
when only the columns (no category) are known: the room a read that skips the body has.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_detection_cost import NOW, _demo_policies, _pages
from bench_policies import records
from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState
from opencasb.detect.engine import Finding, Observed, PolicyEngine
from opencasb.detect.stage import _Reader, stored_policies
from opencasb.detect.state import EngineState
from opencasb.enrich import Enricher, Enrichment, load_ip_ranges
from opencasb.model.activity import Category
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.store import open_store
from opencasb.store.activities import PageWrite


def _load(seed: int, size: int, days: int, cache: Path) -> tuple[list[Observed], list[Any]]:
    """The stored organisation as the stage reads it, and the demo's policy records
    (cached: the policies' compiled filters do not pickle)."""
    if cache.exists():
        with cache.open("rb") as f:
            loaded: tuple[list[Observed], list[Any]] = pickle.load(f)
            return loaded
    okta, o365 = records(seed, size, days)
    enricher = Enricher(
        ip_ranges=[r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))]
    )
    with tempfile.TemporaryDirectory(prefix="opencasb-engines-") as tmp:
        clock = FakeClock(NOW)
        store = open_store(f"sqlite:///{tmp}/store.db", key=generate_key(), clock=clock)
        try:
            ids = {
                "okta": store.add_instance("okta", "acme", {}, {}).id,
                "office365": store.add_instance("office365", "contoso", {}, {}).id,
            }
            _demo_policies(store)
            store.enricher = enricher
            for n, (app, normalize, raws) in enumerate(_pages(okta, o365, 1000)):
                acts = [normalize(r) for r in raws]
                store.save_pages(
                    [PageWrite.of(ids[app], "logs", acts, {"page": n}, enricher=enricher)]
                )
            read, _ = _Reader(store, enricher, 10**9).read({})
            # decoded now: a lazy Observed holds the store's row, which does not pickle
            observed = [Observed(o.id, o.activity, o.enrichment) for o in read]
            policies = store.detection.list_policies()
        finally:
            store.close()
    with cache.open("wb") as f:
        pickle.dump((observed, policies), f)
    return observed, policies


def _policy_round(
    engine: PolicyEngine, observed: list[Observed], batch: int
) -> tuple[list[Finding], EngineState]:
    state, findings = EngineState(), []
    for start in range(0, len(observed), batch):
        found, state = engine.evaluate(observed[start : start + batch], state)
        findings += found
    return findings, state


def _anomaly_round(
    engine: AnomalyEngine, observed: list[Observed], batch: int
) -> tuple[list[Finding], AnomalyState]:
    state, findings, empty = AnomalyState(), [], Enrichment()
    for start in range(0, len(observed), batch):
        for o in sorted(observed[start : start + batch], key=lambda o: o.t):
            findings += engine.observe(o, o.enrichment or empty, state, NOW)
        state.changed.clear()
    return findings, state


def _needs(pol: PolicyEngine, anom: AnomalyEngine, observed: list[Observed]) -> None:
    """Print how many activities need their body (see the module docstring)."""

    def thin(activity_type: str, category: Category) -> tuple[bool, bool]:
        detectors, learners = anom._steps_for(activity_type, category)
        only_gated = not learners and all(d.__name__ == "disabled_user" for d, _ in detectors)
        return not pol._candidates(activity_type, category), only_gated

    no_policy = only_gated = neither = 0
    by_type: dict[str, bool] = {}
    by_columns = 0
    for o in observed:
        a = o.activity
        p, g = thin(a.activity_type, a.category)
        no_policy += p
        only_gated += g
        neither += p and g
        if a.activity_type not in by_type:
            by_type[a.activity_type] = all(all(thin(a.activity_type, c)) for c in Category)
        by_columns += by_type[a.activity_type]
    n = len(observed)
    print(f"  some policy could match: {n - no_policy:,} of {n:,}")
    print(f"  only the gated disabled-user detector: {only_gated:,}")
    print(f"  need no body, knowing the category: {neither:,} ({neither / n:.1%})")
    print(f"  need no body, from the columns alone: {by_columns:,} ({by_columns / n:.1%})")


def _finding(f: Finding) -> dict[str, Any]:
    return {k: str(v) for k, v in dataclasses.asdict(f).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--needs", action="store_true")
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / (
        f"opencasb-engines-{args.seed}-{args.size}-{args.days}.pickle"
    )
    observed, records_ = _load(args.seed, args.size, args.days, cache)
    policies = [p for p in stored_policies(records_) if p.enabled]
    clock = FakeClock(NOW)
    pol = PolicyEngine(policies, clock=clock)
    anom = AnomalyEngine(AnomalySettings(), clock=clock)
    print(f"activities: {len(observed):,}, policies: {len(policies)}, batch {args.batch:,}")
    if args.needs:
        _needs(pol, anom, observed)
        return
    best = {"policies": float("inf"), "anomaly": float("inf")}
    p_out: tuple[list[Finding], EngineState] = ([], EngineState())
    a_out: tuple[list[Finding], AnomalyState] = ([], AnomalyState())
    gc.disable()  # as the detection stage does during a pass
    for _ in range(args.rounds):
        t0 = time.process_time()
        p_out = _policy_round(pol, observed, args.batch)
        t1 = time.process_time()
        a_out = _anomaly_round(anom, observed, args.batch)
        t2 = time.process_time()
        best["policies"] = min(best["policies"], t1 - t0)
        best["anomaly"] = min(best["anomaly"], t2 - t1)
    gc.enable()
    for name, seconds in best.items():
        print(f"  {name:9} {seconds:.3f} s CPU ({seconds / len(observed) * 1e6:.1f} us/activity)")
    print(f"  findings: {len(p_out[0])} policy, {len(a_out[0])} anomaly")
    if args.out is not None:
        data = {
            "policy_findings": [_finding(f) for f in p_out[0]],
            "policy_state": p_out[1].to_json().decode(),
            "anomaly_findings": [_finding(f) for f in a_out[0]],
            "anomaly_state": a_out[1].to_json(),
        }
        args.out.write_text(json.dumps(data, indent=1, sort_keys=True))
        print(f"  output: {args.out}")
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
        _policy_round(pol, observed, args.batch)
        _anomaly_round(anom, observed, args.batch)
        profiler.stop()
        args.profile.write_text(profiler.output_text(show_all=False))
        print(f"  profile: {args.profile}")


if __name__ == "__main__":
    main()
