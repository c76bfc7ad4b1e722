"""A first ``opencasb sync --once`` of an Okta org: time, requests and peak memory.

    .venv/bin/python bench/bench_first_sync.py                    # before and after, 2,000 people
    .venv/bin/python bench/bench_first_sync.py --before none      # this tree only
    .venv/bin/python bench/bench_first_sync.py --size 300         # quicker

One emulated org (2,000 people, ~97,500 events in a 7-day backfill) is served over HTTPS
by this process with Okta's real per-minute rate limits (System Log 120/min, ...), and a real
``opencasb sync --once`` child process makes a first sync of it, once without faults and
once with faults (5xx answers and per-request latency). The same runs are made with the
code of the ``--before`` commit, extracted with ``git archive`` into a temporary directory
and put first on the child's ``PYTHONPATH`` (the emulator is always this tree's).

Per run it prints:

* wall time of the sync process, and requests per endpoint (counted by the emulator),
  split into the System Log (``log``) and everything else (``inventory``);
* when the log feed made its first and last request and when the inventory made its last
  one (seconds from the sync's start): the log backfill should finish before the inventory;
* peak memory: the largest sum of RSS over the sync process and all its descendants
  (sampled every 50 ms; shared pages count once per process, as ``ps`` shows them), the
  largest sum of PSS (shared pages split between their users) and the largest process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from opencasb.clock import SystemClock
from opencasb.sandbox.okta import Faults, RateLimits
from opencasb.sandbox.okta.app import create_okta_app
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls

HERE = Path(__file__).resolve().parent
_ID = re.compile(r"/(00[a-zA-Z][A-Za-z0-9]{17})(?=/|$)")

# Reads the inventory a run stored, with the code that stored it (schemas may differ).
_DUMP = """
import json, sys
from opencasb.store import open_store
data = sys.argv[1]
store = open_store(f"sqlite:///{data}/opencasb.db", key=open(f"{data}/master.key", "rb").read())
iid = store.get_instance("okta").id
accounts = {a.id: [a.status, sorted(a.admin_roles)] for a in store.list_accounts(iid)}
groups = {g.id: sorted(g.member_ids) for g in store.list_groups(iid)}
print(json.dumps({"events": store.count_activities(iid), "accounts": accounts, "groups": groups}))
"""


class RequestLog:
    """ASGI middleware: (seconds, path, status) of every answered request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.entries: list[tuple[float, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, capture)
        self.entries.append((time.perf_counter(), scope["path"], status))


def endpoint(path: str) -> str:
    """A request path with its object ids replaced: ``/api/v1/users/{id}/roles``."""
    return _ID.sub("/{id}", path)


def kind(path: str) -> str:
    if path.startswith("/api/v1/logs"):
        return "log"
    if path.startswith("/oauth2/"):
        return "token"
    return "inventory"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _what(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    text = " ".join(argv[1:])
    for key in ("forkserver", "resource_tracker", "spawn_main", "sync --once"):
        if key in text:
            return key
    return text[:40]


def _kib(path: str, key: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class MemorySampler:
    """Samples the process tree under ``pid`` until stopped; keeps the peaks (KiB)."""

    pid: int
    interval: float = 0.05
    rss: int = 0
    pss: int = 0
    largest: int = 0
    processes: int = 0
    each: dict[int, tuple[int, str]] = field(default_factory=dict)  # pid -> peak, what
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = _children()
            pids, todo = [], [self.pid]
            while todo:
                p = todo.pop()
                pids.append(p)
                todo.extend(tree.get(p, []))
            rss = [_kib(f"/proc/{p}/status", "VmRSS:") for p in pids]
            for p, r in zip(pids, rss, strict=True):
                if r > self.each.get(p, (0, ""))[0]:
                    self.each[p] = (r, self.each.get(p, (0, ""))[1] or _what(p))
            self.rss = max(self.rss, sum(rss))
            self.pss = max(self.pss, sum(_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
            self.largest = max(self.largest, *rss)
            self.processes = max(self.processes, sum(1 for r in rss if r))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    label: str
    wall: float
    requests: Counter[str]
    kinds: Counter[str]
    statuses: Counter[int]
    first_log: float
    last_log: float
    last_inventory: float
    rss_kib: int
    pss_kib: int
    largest_kib: int
    processes: int
    each: list[tuple[int, str]]
    stored: dict[str, Any]


def sync_run(
    sb: OktaSandbox, tls: Any, label: str, src: Path, days: int, faults: Faults | None
) -> Run:
    """One first sync by the code in ``src`` against a fresh emulator over ``sb``'s org."""
    # A fresh app: new rate-limit windows and a fault sequence from its seed.
    log = RequestLog(create_okta_app(sb.state, faults=faults or Faults(), seed=1))
    data = Path(tempfile.mkdtemp(prefix="bench-first-sync-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCASB_")}
    env.update(
        OPENCASB_DATA_DIR=str(data),
        OKTA_API_TOKEN=sb.credentials.token,
        PYTHONPATH=str(src),
    )
    # The console script, as users run it (`python -m` would hide what multiprocessing
    # re-runs of the main script cost in every worker process).
    cli = [str(Path(sys.executable).parent / "opencasb")]
    with SandboxServer(log, tls) as server:
        connect = [*cli, "connect", "okta", "--domain", server.base_url]
        connect += ["--ca-bundle", str(tls.ca_cert), "--backfill-days", str(days)]
        subprocess.run(connect, env=env, check=True, capture_output=True)
        log.entries.clear()  # the connection test is not part of the sync
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*cli, "sync", "--once"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        sampler = MemorySampler(proc.pid)
        _, err = proc.communicate()
        wall = time.perf_counter() - t0
        sampler.stop()
        if proc.returncode != 0:
            raise SystemExit(f"{label}: sync failed ({proc.returncode}): {err.decode()[-2000:]}")
        entries = list(log.entries)
    dump = subprocess.run(
        [sys.executable, "-c", _DUMP, str(data)], env=env, check=True, capture_output=True
    )
    ok = [(t - t0, p, s) for t, p, s in entries]
    logs = [t for t, p, _ in ok if kind(p) == "log"]
    inv = [t for t, p, _ in ok if kind(p) == "inventory"]
    return Run(
        label=label,
        wall=wall,
        requests=Counter(endpoint(p) for _, p, _ in ok),
        kinds=Counter(kind(p) for _, p, _ in ok),
        statuses=Counter(s for _, _, s in ok),
        first_log=min(logs, default=float("nan")),
        last_log=max(logs, default=float("nan")),
        last_inventory=max(inv, default=float("nan")),
        rss_kib=sampler.rss,
        pss_kib=sampler.pss,
        largest_kib=sampler.largest,
        processes=sampler.processes,
        each=sorted(sampler.each.values(), reverse=True),
        stored=json.loads(dump.stdout),
    )


def show(run: Run) -> None:
    p = f"{run.label}:"
    s = run.stored
    admins = sum(1 for _, roles in s["accounts"].values() if roles)
    print(f"{p} wall time: {run.wall:.1f} s")
    print(f"{p} stored: {s['events']} events, {len(s['accounts'])} accounts ({admins} admins)")
    total = sum(run.kinds.values())
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(run.kinds.items()))
    print(f"{p} requests: {total} ({kinds})")
    for path, n in sorted(run.requests.items(), key=lambda kv: -kv[1]):
        print(f"{p}   {n:6d}  {path}")
    answers = ", ".join(f"{code}: {n}" for code, n in sorted(run.statuses.items()))
    print(f"{p} answers: {answers}")
    print(f"{p} log feed: first request at {run.first_log:.1f} s, last at {run.last_log:.1f} s")
    print(f"{p} inventory: last request at {run.last_inventory:.1f} s")
    done = "yes" if run.last_log < run.last_inventory else "NO"
    print(f"{p} log backfill done before the inventory's last request: {done}")
    print(
        f"{p} peak memory: {run.rss_kib / 1024:.0f} MiB RSS summed over {run.processes} "
        f"processes ({run.pss_kib / 1024:.0f} MiB PSS; largest process "
        f"{run.largest_kib / 1024:.0f} MiB)"
    )
    each = ", ".join(f"{what} {kib / 1024:.0f}" for kib, what in run.each)
    print(f"{p} peak RSS per process (MiB): {each}")


def extract(commit: str) -> Path:
    """The tree of ``commit`` in a temporary directory (its ``src`` goes on PYTHONPATH)."""
    top = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--show-toplevel"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", top, "archive", commit, "src"], check=True, capture_output=True
    ).stdout
    out = Path(tempfile.mkdtemp(prefix=f"bench-{commit}-"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    return out / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=2000, help="people in the org")
    ap.add_argument("--days", type=int, default=7, help="days of backfill")
    ap.add_argument("--before", default="dc7aec1", help="commit to compare with ('none': skip it)")
    ap.add_argument("--error-rate", type=float, default=0.02, help="5xx share (faulty runs)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per request (faulty)")
    ap.add_argument("--skip-faults", action="store_true")
    args = ap.parse_args()
    clock = SystemClock()
    t0 = time.perf_counter()
    sb = build_okta_sandbox(
        seed=1,
        size=args.size,
        days=args.days + 5,
        clock=clock,
        anchor=clock.now() - timedelta(minutes=2),
        rate_limits=RateLimits(),
    )
    print(
        f"emulator org: {len(sb.state.users)} users, {len(sb.state.groups)} groups, "
        f"{len(sb.state.log)} events (built in {time.perf_counter() - t0:.0f} s); "
        f"rate limits per minute: {RateLimits()}"
    )
    faulty = Faults(
        error_500_rate=args.error_rate / 2,
        error_503_rate=args.error_rate / 2,
        latency_seconds=args.latency,
        latency_mode="real",
        seed=7,
    )
    trees = [("after", HERE.parent / "src")]
    if args.before != "none":
        trees.insert(0, (f"before ({args.before})", extract(args.before)))
    tls = ensure_sandbox_tls(Path(tempfile.mkdtemp()) / "tls")
    profiles: list[tuple[str, Faults | None]] = [("no faults", None)]
    if not args.skip_faults:
        profiles.append(
            (f"faults: {args.error_rate:.0%} 5xx, {args.latency * 1000:.0f} ms latency", faulty)
        )
    runs: dict[tuple[str, str], Run] = {}
    for profile, faults in profiles:
        for label, src in trees:
            run = sync_run(sb, tls, f"{label}, {profile}", src, args.days, faults)
            runs[(label, profile)] = run
            show(run)
            sys.stdout.flush()
    if len(trees) == 2:
        (before, _), (after, _) = trees
        for profile, _ in profiles:
            b, a = runs[(before, profile)], runs[(after, profile)]
            same = b.stored["accounts"] == a.stored["accounts"]
            same &= b.stored["groups"] == a.stored["groups"]
            print(
                f"{profile}: inventory requests {a.kinds['inventory']} vs "
                f"{b.kinds['inventory']} before ({a.kinds['inventory'] / b.kinds['inventory']:.3f}"
                f"); wall {a.wall:.1f} s vs {b.wall:.1f} s; peak RSS sum "
                f"{a.rss_kib / 1024:.0f} vs {b.rss_kib / 1024:.0f} MiB; same inventory: "
                f"{'yes' if same else 'NO'}; events stored "
                f"{a.stored['events']} vs {b.stored['events']}"
            )


if __name__ == "__main__":
    main()
