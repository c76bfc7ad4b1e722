"""Cost of detection against ingest: ingest alone and ingest with the detection stage after
each pass, interleaved in one run.

Run: ``.venv/bin/python bench/bench_detection_cost.py [--seed 7] [--size 300] [--days 8]
[--page 1000] [--pass-pages 5] [--rounds 3] [--profile out.html] [--out alerts.json]``.

Builds the sandbox's organisation (everyday activity and the labelled scenarios, Okta and
Office 365), as served, raw. Each round ingests all of it into a fresh SQLite store the way
``opencasb sync`` does in one process, minus HTTP: pages of ``--page`` records are normalized,
enriched and encoded as the pipeline does it (``ingest.pipeline.page_write``; the enrichment is
ingest's cost) and stored with their cursor (``Store.save_pages``, one page per transaction);
an ingest *pass* is ``--pass-pages`` pages. Rounds alternate between

* **ingest**: passes only;
* **ingest + detection**: after each pass, the detection stage runs until it has caught up
  (``DetectionStage.run_until_caught_up``, as ``run_detection`` after a sync pass), with
  every built-in anomaly detector and the demo's policies (every shipped template that needs
  nothing filled in) and the demo's IP lists;

so that both see the same machine. Prints the best round of each in records per second, and
the ratio (acceptance: ingest with detection at least 0.7 x ingest alone, i.e. detection
costs at most 30%). ``--profile`` writes a pyinstrument profile of one detection round (text for a
``.txt`` file, else HTML). Each round also shows the processor time it used, and the report
the ratio of those: on a machine shared with other work, wall-clock rounds vary with the
load, processor time much less. ``--out`` writes what one more detection round ends with (every
alert, and the stages' stored state) as JSON: compare two versions' files to show that a
change to detection changed nothing it finds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_policies import records
from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.crypto import generate_key
from opencasb.detect.anomaly import AnomalySettings
from opencasb.detect.stage import ANOMALY_STAGE, STAGE, DetectionStage, store_policy
from opencasb.detect.templates import load_templates
from opencasb.enrich import Enricher, load_ip_ranges
from opencasb.errors import DocumentError
from opencasb.ingest.pipeline import page_write
from opencasb.model import Activity
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path
from opencasb.store import Store, open_store

NOW = datetime(2026, 10, 27, 13, tzinfo=UTC)
Normalize = Callable[[Mapping[str, Any]], Activity]


def _demo_policies(store: Store) -> int:
    """The demo's policies (as ``opencasb demo`` stores them); how many."""
    n = 0
    for policy in load_templates():
        try:
            store_policy(store, dataclasses.replace(policy, enabled=True))
            n += 1
        except DocumentError:
            continue  # a template with a <placeholder> to fill in
    return n


def _pages(okta: list[Any], o365: list[Any], page: int) -> list[tuple[str, Normalize, list[Any]]]:
    """The pages in the order a sync would store them: the two feeds interleaved."""
    feeds = [
        [("okta", normalize_okta, okta[i : i + page]) for i in range(0, len(okta), page)],
        [("office365", normalize_o365, o365[i : i + page]) for i in range(0, len(o365), page)],
    ]
    out: list[tuple[str, Normalize, list[Any]]] = []
    for i in range(max(len(f) for f in feeds)):
        out += [f[i] for f in feeds if i < len(f)]
    return out


def _round(
    pages: list[tuple[str, Normalize, list[Any]]],
    pass_pages: int,
    detect: bool,
    directory: Path,
    enricher: Enricher,
    profile: Path | None = None,
    out: Path | None = None,
) -> tuple[float, float, int, float]:
    """(seconds in all, seconds of them in detection, alerts, CPU seconds in all) of one
    round."""
    clock = FakeClock(NOW)
    store = open_store(f"sqlite:///{directory / 'store.db'}", key=generate_key(), clock=clock)
    try:
        ids = {
            "okta": store.add_instance("okta", "acme", {}, {}).id,
            "office365": store.add_instance("office365", "contoso", {}, {}).id,
        }
        if detect:
            _demo_policies(store)
        # ingest enriches each activity as it stores it (as the pipeline does): that is
        # ingest's cost in both modes; detection reads the stored enrichment
        store.enricher = enricher
        profiler: Any = None
        if profile is not None:
            from pyinstrument import Profiler

            profiler = Profiler()
        in_detection = 0.0
        alerts = 0
        began, cpu_began = time.perf_counter(), time.process_time()
        for start in range(0, len(pages), pass_pages):
            for n, (app, normalize, raws) in enumerate(pages[start : start + pass_pages]):
                cursor = {"page": start + n}
                page = page_write(normalize, ids[app], "logs", raws, cursor, enricher=enricher)
                store.save_pages([page])
            if detect:
                t0 = time.perf_counter()
                if profiler is not None:
                    profiler.start()
                stage = DetectionStage(store, clock, enricher=enricher, anomaly=AnomalySettings())
                alerts += stage.run_until_caught_up().alerts
                if profiler is not None:
                    profiler.stop()
                in_detection += time.perf_counter() - t0
        total, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        if profiler is not None and profile is not None:
            text = profile.suffix == ".txt"
            profile.write_text(
                profiler.output_text(show_all=False) if text else profiler.output_html()
            )
        if out is not None:
            _write_outcome(store, out)
        return total, in_detection, alerts, cpu
    finally:
        store.close()


def _write_outcome(store: Store, out: Path) -> None:
    """The store's alerts and detection stages' state, as JSON, to ``out``."""
    det = store.detection
    stages = {}
    for name in (STAGE, ANOMALY_STAGE):
        saved = det.get_stage(name)
        if saved is not None:
            stages[name] = {"cursor": saved.cursor, "state": saved.state}
            stages[name]["partitions"] = det.get_partitions(name)
    alerts = [dataclasses.asdict(a) for a in det.list_alerts(limit=1_000_000)]
    out.write_text(json.dumps({"alerts": alerts, "stages": stages}, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--pass-pages", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    okta, o365 = records(args.seed, args.size, args.days)
    pages = _pages(okta, o365, args.page)
    count = len(okta) + len(o365)
    enricher = Enricher(
        ip_ranges=[r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))]
    )
    # the built-in database loads on first use, once per process (a sync process lives on)
    enricher.enrich(normalize_okta(okta[0]))
    print(f"records: {count:,} ({len(okta):,} Okta, {len(o365):,} Office 365) in "
          f"{len(pages)} pages of {args.page:,}, a pass every {args.pass_pages} pages")  # fmt: skip
    best = {False: float("inf"), True: float("inf")}
    best_cpu = {False: float("inf"), True: float("inf")}
    detection_share = 0.0
    alerts = 0
    for r in range(args.rounds):
        for detect in (False, True):
            with tempfile.TemporaryDirectory(prefix="opencasb-detcost-") as tmp:
                total, in_det, n, cpu = _round(pages, args.pass_pages, detect, Path(tmp), enricher)
            label = "ingest + detection" if detect else "ingest"
            print(f"  round {r + 1} {label}: {count / total:,.0f} records/s ({total:.1f} s"
                  + (f", detection {in_det:.1f} s, {n} alerts" if detect else "")
                  + f"; CPU {cpu:.1f} s)")  # fmt: skip
            best_cpu[detect] = min(best_cpu[detect], cpu)
            if total < best[detect]:
                best[detect] = total
                if detect:
                    detection_share, alerts = in_det / total, n
    if args.rounds:
        _report(count, best, args.rounds, detection_share, alerts)
        # the wall-clock ratio is the acceptance; on a machine shared with other work the
        # processor time this process used is the steadier measure of the same thing
        cpu_ratio = best_cpu[False] / best_cpu[True]
        print(f"CPU-time ratio: {cpu_ratio:.2f} (ingest {best_cpu[False]:.1f} s, "
              f"ingest + detection {best_cpu[True]:.1f} s of processor time, "
              f"best of {args.rounds})")  # fmt: skip
    if args.profile is not None:
        with tempfile.TemporaryDirectory(prefix="opencasb-detcost-") as tmp:
            _round(pages, args.pass_pages, True, Path(tmp), enricher, profile=args.profile)
        print(f"profile of one detection round: {args.profile}")
    if args.out is not None:
        with tempfile.TemporaryDirectory(prefix="opencasb-detcost-") as tmp:
            _round(pages, args.pass_pages, True, Path(tmp), enricher, out=args.out)
        print(f"alerts and stage state of one detection round: {args.out}")


def _report(
    count: int, best: dict[bool, float], rounds: int, detection_share: float, alerts: int
) -> None:
    plain, with_det = count / best[False], count / best[True]
    ratio = with_det / plain
    print(f"ingest: {plain:,.0f} records/s (best of {rounds})")
    print(f"ingest + detection: {with_det:,.0f} records/s (best of {rounds}; "
          f"{detection_share:.0%} of the time in detection, {alerts} alerts)")  # fmt: skip
    verdict = "PASS" if ratio >= 0.7 else "FAIL"
    print(f"ratio: {ratio:.2f} (detection costs {1 - ratio:.0%} of ingest throughput; "
          f"target <= 30%: {verdict})  load {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
