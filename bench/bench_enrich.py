"""Cost of enriching one activity, with and without the enricher's caches.

Run: ``.venv/bin/python bench/bench_enrich.py [N]``. Normalizes every sample record
(``shared/samples/<app>/*.jsonl`` beside the repository, or the folder named by
``OPENCASB_SAMPLES``), repeats them to about ``N`` activities (default 50,000), and prints the
microseconds per activity of :meth:`Enricher.enrich` cached (the default cache, warmed on the
samples as a running ingest would be) and uncached (``cache_size=0``: every address and
user-agent looked up again), best of a few rounds, plus the one-off database load time.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.enrich import Enricher, builtin_database, load_ip_ranges
from opencasb.model import Activity
from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path

ROUNDS = 3
NORMALIZERS: dict[str, Callable[[Mapping[str, Any]], Activity]] = {
    "okta": normalize_okta,
    "office365": normalize_o365,
}


def samples_dir() -> Path:
    if os.environ.get("OPENCASB_SAMPLES"):
        return Path(os.environ["OPENCASB_SAMPLES"])
    repo = Path(__file__).resolve().parents[1]
    for base in (repo.parent, repo.parent.parent):  # a checkout, or a worktree under wt/
        if (base / "shared" / "samples").is_dir():
            return base / "shared" / "samples"
    return repo.parent / "shared" / "samples"


def load_activities() -> list[Activity]:
    out: list[Activity] = []
    for app, normalize in NORMALIZERS.items():
        for path in sorted((samples_dir() / app).glob("*.jsonl")):
            for line in path.read_bytes().splitlines():
                if line.strip():
                    try:
                        out.append(normalize(orjson.loads(line)))
                    except Exception:  # a sample the normalizer quarantines: not enriched
                        continue
    return out


def per_activity_us(enricher: Enricher, activities: list[Activity]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for a in activities:
            enricher.enrich(a)
        best = min(best, (time.process_time() - start) / len(activities))
    return best * 1e6


def main(target: int = 50_000) -> None:
    samples = load_activities()
    if not samples:
        sys.exit(f"no sample records under {samples_dir()}")
    with_ip = sum(1 for a in samples if a.src_ip)
    with_ua = sum(1 for a in samples if a.user_agent)
    activities = samples * max(1, target // len(samples))
    start = time.perf_counter()
    builtin_database()
    print(f"built-in GeoIP database load: {time.perf_counter() - start:.2f} s (once per process)")
    ranges = [r for name in DEMO_LISTS for r in load_ip_ranges(demo_list_path(name))]
    print(
        f"{len(samples)} sample activities ({with_ip} with an IP, {with_ua} with a user agent), "
        f"repeated to {len(activities):,}; {len(ranges)} IP ranges; CPU time, best of {ROUNDS}"
    )
    cached = Enricher(ip_ranges=ranges)
    for a in samples:
        cached.enrich(a)
    print(f"enrich cached:   {per_activity_us(cached, activities):8.2f} us/activity")
    uncached = Enricher(ip_ranges=ranges, cache_size=0)
    print(f"enrich uncached: {per_activity_us(uncached, activities):8.2f} us/activity")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
