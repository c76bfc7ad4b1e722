"""The demo's time to ready: ``opencasb demo`` with default options, as the README runs it.

    .venv/bin/python bench/bench_demo.py [--runs 1] [--size N] [--days N]

Each run starts ``python -m opencasb.cli demo`` in a fresh data directory (emulators on any
free ports), times the wall clock from the start of the process to its ready message (both
emulators up, both apps connected through the normal connect path, both backfills stored),
then presses Ctrl-C (SIGINT) and times the clean stop. Prints ``demo time to ready: N s``
(the issue's limit is 120 s), the demo's own count of stored activities, and
``demo stop after Ctrl-C: N s (exit code C)``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY = re.compile(r"ready\s+in\s+\d+\s*s:\s*([\d,]+) activities stored")


def run_once(extra: list[str]) -> tuple[float, str, float, int]:
    """(seconds to ready, activities stored, seconds to stop after SIGINT, exit code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCASB_", "OKTA_"))}
    env["COLUMNS"] = "200"  # one line per message, so that the ready line can be matched
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "opencasb.cli", "demo", "--port", "0"]
        cmd += ["--data-dir", str(Path(tmp) / "demo"), *extra]
        began = time.perf_counter()
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        stored = ""
        for line in proc.stdout:
            found = READY.search(line)
            if found:
                stored = found.group(1)
                break
        else:
            proc.wait()
            raise SystemExit(f"the demo ended (exit code {proc.returncode}) before it was ready")
        ready = time.perf_counter() - began
        proc.send_signal(signal.SIGINT)
        stopping = time.perf_counter()
        proc.stdout.read()
        code = proc.wait(timeout=60)
        return ready, stored, time.perf_counter() - stopping, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--size", type=int, default=None, help="default: the demo's own")
    parser.add_argument("--days", type=int, default=None, help="default: the demo's own")
    args = parser.parse_args()
    extra: list[str] = []
    if args.size is not None:
        extra += ["--size", str(args.size)]
    if args.days is not None:
        extra += ["--days", str(args.days)]
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for _ in range(args.runs):
        ready, stored, stop, code = run_once(extra)
        print(f"demo time to ready: {ready:.1f} s ({stored} activities stored)")
        print(f"demo stop after Ctrl-C: {stop:.1f} s (exit code {code})")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
