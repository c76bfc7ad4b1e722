"""Helpers shared by the benchmarks (they run as scripts, so this sits beside them)."""

from __future__ import annotations

__all__ = ["peak_rss_kib"]


def peak_rss_kib(pid: int) -> int:
    """A child's peak RSS since its exec (VmHWM), 0 once it is gone. ``wait4``'s ru_maxrss
    would also count the pages it shared with its parent between fork and exec, which in the
    benchmarks hold a whole emulated org, so it would measure the parent, not the child."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
