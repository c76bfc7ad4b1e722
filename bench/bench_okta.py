"""Okta figures: HTTPS backfill exactness, peak memory, and request-budget use.

    .venv/bin/python bench/bench_okta.py                 # 2,000 people, 60-day backfill
    .venv/bin/python bench/bench_okta.py --size 300      # quicker

Prints ``name: value unit`` lines:

* ``backfill Nd``: a real ``opencasb sync --once`` child process backfills N days over HTTPS
  from the emulator (served by this process); stored ids are compared with the emulator's
  log (exact: no gap, no duplicate), and the child's peak RSS (VmHWM) is sampled from /proc. Run for
  two backfill lengths, peak memory must not grow with the backfill's size.
* ``budget``: the same 60-day backfill in-process against the emulator's real rate limit
  (120 requests/min on /api/v1/logs) on a virtual clock shared by client and emulator, so
  the minutes of waiting cost no real time; requests made ÷ requests allowed in the windows
  used, and the number of 429 answers.
"""

from __future__ import annotations

import argparse
import math
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
from opencasb.sandbox.okta import RateLimits, generate_rsa_keypair
from opencasb.sandbox.okta.state import epoch_ms
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls
from opencasb.sandbox.transport import SyncASGITransport
from opencasb.store import open_store

CLI = [sys.executable, "-m", "opencasb.cli"]


def _truth(sb: OktaSandbox, since: datetime) -> set[str]:
    state = sb.state
    blobs = state.log.visible(
        now_ms=epoch_ms(state.clock.now()),
        min_published_ms=epoch_ms(state.retention_start()),
        since_ms=epoch_ms(since),
    )
    return {orjson.loads(b)["uuid"] for b in blobs}


def backfill(sb: OktaSandbox, url: str, ca: Path, days: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-okta-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCASB_")}
    env.update(OPENCASB_DATA_DIR=str(data), OKTA_API_TOKEN=sb.credentials.token)
    subprocess.run(
        [
            *CLI,
            "connect",
            "okta",
            "--domain",
            url,
            "--ca-bundle",
            str(ca),
            "--backfill-days",
            str(days),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    t0 = time.perf_counter()
    since = sb.state.clock.now() - timedelta(days=days)
    proc = subprocess.Popen(
        [*CLI, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_kib = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, peak_rss_kib(proc.pid))
        time.sleep(0.1)
    status = proc.returncode
    elapsed = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"sync failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    store = open_store(f"sqlite:///{data / 'opencasb.db'}", key=(data / "master.key").read_bytes())
    iid = store.get_instance("okta").id
    ids, count = store.activity_ids(iid), store.count_activities(iid)
    store.close()
    # The backfill starts at connect time, a moment before `since`: events persisted in that
    # moment are legitimately included, so compare against the truth from both instants.
    truth = _truth(sb, since)
    extra, missing = ids - truth, truth - ids
    early = {u for u in extra if u in _truth(sb, since - timedelta(seconds=elapsed + 60))}
    exact = not missing and extra == early and count == len(ids)
    print(f"backfill {days}d events: {count} events")
    print(f"backfill {days}d exact (no gap, no duplicate): {'yes' if exact else 'NO'}")
    print(f"backfill {days}d sync --once wall time (backfill + inventory): {elapsed:.0f} s")
    print(f"backfill {days}d rate over https, inventory included: {count / elapsed:,.0f} events/s")
    print(f"backfill {days}d peak memory (child VmHWM): {peak_kib / 1024:.0f} MiB")


def budget(size: int, days: int, limit: int) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    sb = build_okta_sandbox(
        seed=5,
        size=size,
        days=days + 2,
        clock=clock,
        rate_limits=RateLimits(logs=limit),
        oauth_key_pem=generate_rsa_keypair(),
    )
    store = open_store(f"sqlite:///{tempfile.mkdtemp()}/b.db", key=generate_key())
    store.add_instance(
        "okta",
        "okta",
        {"domain": "acme.okta.test", "backfill_days": str(days)},
        {"token": sb.credentials.token},
    )
    made: list[AppConnector] = []
    transport = SyncASGITransport(sb.app)

    def factory(rec: object, secrets: object) -> AppConnector:
        conn = load_app("okta")(
            store.get_instance("okta").config,
            store.instance_secrets(store.get_instance("okta")),
            http=HttpOptions(transport=transport, clock=clock),
        )
        made.append(conn)
        return conn

    runner = IngestRunner(store, clock=clock, connector_factory=factory)  # type: ignore[arg-type]
    start = clock.monotonic()
    result = runner.run_once("okta", inventory=False)
    virtual = clock.monotonic() - start
    client = made[0].client  # type: ignore[attr-defined]
    requests = client.pacer.requests
    windows = max(1, math.ceil(virtual / 60.0))
    print(f"budget backfill events: {result.inserted}")
    print(f"budget requests made: {requests} in {virtual:.0f} virtual s")
    use = requests / (windows * limit)
    print(f"budget use (made / allowed in {windows} windows of {limit}): {use:.3f}")
    print(f"budget 429 answers: {client.rate_limited}")
    store.close()
    transport.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=2000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--short-days", type=int, default=15)
    ap.add_argument("--limit", type=int, default=120, help="logs requests per minute")
    ap.add_argument("--skip-https", action="store_true")
    ap.add_argument("--skip-budget", action="store_true")
    args = ap.parse_args()
    if not args.skip_budget:
        budget(args.size, args.days, args.limit)
    if args.skip_https:
        return
    clock = SystemClock()
    t0 = time.perf_counter()
    sb = build_okta_sandbox(
        seed=1,
        size=args.size,
        days=args.days + 5,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        rate_limits=RateLimits(logs=1_000_000),
    )
    print(
        f"emulator org: {len(sb.state.users)} users, {len(sb.state.log)} events "
        f"(built in {time.perf_counter() - t0:.0f} s)"
    )
    tls = ensure_sandbox_tls(Path(tempfile.mkdtemp()) / "tls")
    with SandboxServer(sb.app, tls) as server:
        for days in (args.short_days, args.days):
            backfill(sb, server.base_url, tls.ca_cert, days)


if __name__ == "__main__":
    main()
