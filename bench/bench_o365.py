"""Office 365 figures: request-budget use, HTTPS backfill exactness and peak memory.

    .venv/bin/python bench/bench_o365.py                 # 2,000 people, a week's backfill
    .venv/bin/python bench/bench_o365.py --size 300      # quicker

Prints ``name: value unit`` lines:

* ``budget``: a week's backfill in-process against the emulator's real throttle (2,000
  Management Activity requests a minute per tenant) on a virtual clock shared by client and
  emulator, so the minutes of pacing cost no real time: requests made ÷ requests allowed in
  the minutes used, and the number of throttling answers (AF429). One blob worker, because
  the virtual clock is shared by threads and their sleeps would add up instead of overlap;
  the budget, not the concurrency, sets the request rate.
* ``backfill Nd``: a real ``opencasb sync --once`` child process backfills N days over
  HTTPS from the emulator (served by this process, throttle lifted); stored ids are compared
  with the records the API holds (exact: no gap, no duplicate), and the child's peak RSS is
  sampled. Run for two backfill lengths: peak memory must not grow with the backfill.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from benchlib import peak_rss_kib
from opencasb.apps.base import AppConnector, HttpOptions, load_app
from opencasb.clock import FakeClock, SystemClock
from opencasb.crypto import generate_key
from opencasb.ingest.runner import IngestRunner
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls
from opencasb.sandbox.transport import SyncASGITransport
from opencasb.store import open_store

CLI = [sys.executable, "-m", "opencasb.cli"]
LIMIT = 2000  # Management Activity API requests a minute per tenant (research §1.6)


def _truth(sb: O365Sandbox, since: datetime, now: datetime) -> set[str]:
    return {
        orjson.loads(r)["Id"]
        for blob in sb.state.blobs.all_blobs()
        if since <= blob.created <= now
        for r in blob.records
    }


def _config(sb: O365Sandbox, endpoint: str, **extra: str) -> dict[str, str]:
    creds = sb.credentials
    return {
        "tenant_id": creds.tenant_id,
        "client_id": creds.client_id,
        "endpoint": endpoint,
        **extra,
    }


def budget(size: int) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    t0 = time.perf_counter()
    sb = build_o365_sandbox(seed=5, size=size, days=8, clock=clock, limits=Limits())
    print(f"budget tenant built in {time.perf_counter() - t0:.0f} s")
    store = open_store(f"sqlite:///{tempfile.mkdtemp()}/b.db", key=generate_key())
    config = _config(sb, "https://o365.test", workers="1")
    store.add_instance("office365", "o365", config, {"client_secret": sb.credentials.client_secret})
    made: list[AppConnector] = []
    transport = SyncASGITransport(sb.app)

    def factory(rec: object, secrets: object) -> AppConnector:
        rec_ = store.get_instance("o365")
        conn = load_app("office365")(
            rec_.config,
            store.instance_secrets(rec_),
            http=HttpOptions(transport=transport, clock=clock),
        )
        made.append(conn)
        return conn

    runner = IngestRunner(store, clock=clock, connector_factory=factory)  # type: ignore[arg-type]
    start, started_at = clock.monotonic(), clock.now()
    wall = time.perf_counter()
    result = runner.run_once("o365", inventory=False)
    wall = time.perf_counter() - wall
    virtual = clock.monotonic() - start
    if result.error:
        raise SystemExit(f"budget run failed: {result.error}")
    conn = made[0]
    made_requests = conn.budget.requests  # type: ignore[attr-defined]
    minutes = virtual / 60.0
    # Each feed starts a week before its own start; blobs of that edge that expired while
    # earlier feeds ran are gone from the API too. So: at least what the API still holds at
    # the end, at most what it held at the start.
    alive_at_end = _truth(sb, clock.now() - timedelta(days=7), clock.now())
    held_at_start = _truth(sb, started_at - timedelta(days=7), clock.now())
    ids = store.activity_ids(store.get_instance("o365").id)
    exact = alive_at_end <= ids <= held_at_start
    print(f"budget backfill records: {result.inserted} ({result.duplicates} duplicates dropped)")
    print(f"budget backfill exact (no gap, no duplicate): {'yes' if exact else 'NO'}")
    print(f"budget requests made: {made_requests} in {virtual:.0f} virtual s ({wall:.0f} s wall)")
    use = made_requests / (minutes * LIMIT)
    print(f"budget use (made / allowed at {LIMIT} a minute over {minutes:.1f} min): {use:.3f}")
    print(f"budget throttling answers (AF429): {conn.manage.rate_limited}")  # type: ignore[attr-defined]
    store.close()
    transport.close()


def backfill(sb: O365Sandbox, url: str, ca: Path, days: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-o365-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCASB_")}
    env.update(OPENCASB_DATA_DIR=str(data), O365_CLIENT_SECRET=sb.credentials.client_secret)
    creds = sb.credentials
    subprocess.run(
        [*CLI, "connect", "office365", "--tenant-id", creds.tenant_id,
         "--client-id", creds.client_id, "--endpoint", url, "--ca-bundle", str(ca),
         "--backfill-days", str(days), "--requests-per-minute", "60000"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    started = SystemClock().now()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_kib = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, peak_rss_kib(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sync failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    store = open_store(f"sqlite:///{data / 'opencasb.db'}", key=(data / "master.key").read_bytes())
    iid = store.get_instance("office365").id
    ids, count = store.activity_ids(iid), store.count_activities(iid)
    store.close()
    # The feed's start is computed a moment after `started`; blobs of that moment count.
    truth = _truth(sb, started - timedelta(days=days), SystemClock().now())
    near = _truth(sb, started - timedelta(days=days, seconds=-elapsed - 60), SystemClock().now())
    exact = near <= ids <= truth and count == len(ids)
    print(f"backfill {days}d records: {count}")
    print(f"backfill {days}d exact (no gap, no duplicate): {'yes' if exact else 'NO'}")
    print(f"backfill {days}d sync --once wall time (backfill + inventory): {elapsed:.0f} s")
    print(f"backfill {days}d rate over https, inventory included: {count / elapsed:,.0f} records/s")
    print(f"backfill {days}d peak memory (child VmHWM): {peak_kib / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--short-days", type=int, default=2)
    ap.add_argument("--skip-https", action="store_true")
    ap.add_argument("--skip-budget", action="store_true")
    args = ap.parse_args()
    if not args.skip_budget:
        budget(args.size)
    if args.skip_https:
        return
    clock = SystemClock()
    t0 = time.perf_counter()
    sb = build_o365_sandbox(
        seed=1,
        size=args.size,
        days=7,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        limits=Limits(activity_per_minute=1_000_000, shared_pool_per_minute=1_000_000),
    )
    blobs = sb.state.blobs.all_blobs()
    print(
        f"emulator tenant: {len(sb.state.users)} users, {len(blobs)} blobs, "
        f"{sum(len(b.records) for b in blobs)} records (built in {time.perf_counter() - t0:.0f} s)"
    )
    tls = ensure_sandbox_tls(Path(tempfile.mkdtemp()) / "tls")
    with SandboxServer(sb.app, tls) as server:
        for days in (args.short_days, 7):
            backfill(sb, server.base_url, tls.ca_cert, days)


if __name__ == "__main__":
    main()
