"""Detection quality: the demo organisation's alerts scored against its ground truth.

Run: ``.venv/bin/python bench/bench_detection_quality.py [--seed 1 ...] [--size 500]
[--days 30] [--show-false]``. For each seed, generates the demo organisation (everyday
activity and the labelled scenarios), stores it in a real SQLite store, runs the detection
stage with every built-in anomaly detector and the demo's policies (and IP lists), and scores
the alerts against ``ground-truth.json`` (see ``opencasb.sandbox.scenarios.quality`` and
``.scoring``). Prints per detector true positives, false positives, false negatives and alerts
on an attack of another kind, then the aggregate recall and false alerts per 1,000 users per
day with PASS/FAIL against the targets: recall >= 0.95, at most 1 false alert per 1,000 users
per day, and, for one seed, every attack detected and no benign look-alike alerted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from opencasb.sandbox.scenarios.quality import QualityRun, run_quality
from opencasb.sandbox.scenarios.scoring import DetectorScore

RECALL_TARGET = 0.95
FALSE_PER_1000_PER_DAY = 1.0


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _print_run(run: QualityRun, seconds: float, show_false: bool) -> None:
    s = run.score
    print(f"\nseed {run.seed}, {run.size:,} people, {run.days} days: "
          f"{run.activities:,} activities, {len(run.alerts)} alerts ({seconds:.0f} s)")  # fmt: skip
    print(f"  {'detector':34} {'TP':>4} {'FP':>4} {'FN':>4} {'other':>5}")
    for d in sorted(s.detectors):
        r = s.detectors[d]
        if r.tp or r.fp or r.fn or r.other:
            print(f"  {d:34} {r.tp:4} {r.fp:4} {r.fn:4} {r.other:5}")
    quiet = sorted(d for d, r in s.detectors.items() if not (r.tp or r.fp or r.fn or r.other))
    print(f"  silent (nothing to find, nothing raised): {', '.join(quiet) or '-'}")
    print(f"  attacks detected: {s.detected}/{s.attacks}; missed: {', '.join(s.missed) or '-'}")
    print(f"  benign look-alikes alerted: {', '.join(s.benign_alerted) or '-'}")
    if show_false:
        for a in s.false_alerts:
            print(f"  FALSE {a.first_time[:16]} {a.policy_id}: {a.explanation}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, nargs="+", default=[1], help="one or more seeds")
    parser.add_argument("--size", type=int, default=500, help="people in the organisation")
    parser.add_argument("--days", type=int, default=30, help="days of Okta history (demo: 30)")
    parser.add_argument("--show-false", action="store_true", help="print every false alert")
    args = parser.parse_args()
    runs: list[QualityRun] = []
    for seed in args.seed:
        with tempfile.TemporaryDirectory(prefix="opencasb-quality-") as tmp:
            t0 = time.perf_counter()
            run = run_quality(seed, args.size, args.days, Path(tmp))
            _print_run(run, time.perf_counter() - t0, args.show_false)
            runs.append(run)
    totals: dict[str, DetectorScore] = {}
    for run in runs:
        for d, r in run.score.detectors.items():
            t = totals.setdefault(d, DetectorScore())
            t.tp, t.fp, t.fn, t.other = t.tp + r.tp, t.fp + r.fp, t.fn + r.fn, t.other + r.other
    attacks = sum(r.score.attacks for r in runs)
    detected = sum(r.score.detected for r in runs)
    false = sum(len(r.score.false_alerts) for r in runs)
    user_days = sum(r.size * r.days for r in runs)
    recall = detected / attacks if attacks else 1.0
    rate = false / user_days * 1000
    seeds = ", ".join(str(r.seed) for r in runs)
    print(f"\nall runs (seeds {seeds}; {args.size:,} people; {args.days} days)")
    print(f"  {'detector':34} {'TP':>4} {'FP':>4} {'FN':>4} {'other':>5}")
    for d in sorted(totals):
        t = totals[d]
        print(f"  {d:34} {t.tp:4} {t.fp:4} {t.fn:4} {t.other:5}")
    print(f"  recall: {detected}/{attacks} = {recall:.3f} (target >= {RECALL_TARGET}) "
          f"{_verdict(recall >= RECALL_TARGET)}")  # fmt: skip
    print(f"  false alerts: {false} over {user_days:,} user-days = {rate:.2f} per 1,000 users "
          f"per day (target <= {FALSE_PER_1000_PER_DAY:g}) "
          f"{_verdict(rate <= FALSE_PER_1000_PER_DAY)}")  # fmt: skip
    for run in runs:
        s = run.score
        ok = not s.missed and not s.benign_alerted
        print(f"  seed {run.seed}: every attack detected ({s.detected}/{s.attacks}) and no benign "
              f"look-alike alerted ({len(s.benign_alerted)}) {_verdict(ok)}")  # fmt: skip


if __name__ == "__main__":
    main()
