"""The Sigma rule folder as the portal shows it: every rule that evaluates (with its
policy and file) and every rule or file that does not, with its reason -- what ``opencasb
sigma list`` and ``opencasb sigma check`` print.

Loading converts every rule (pySigma), so a load is kept until a file of the folder changes
(its name, size or modification time), or the folder setting does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from opencasb.config import Settings
from opencasb.detect.sigma import load_rules
from opencasb.detect.sigma.load import SigmaLoad

__all__ = ["SigmaView", "sigma_view"]


@dataclass(frozen=True, slots=True)
class SigmaView:
    """``folder`` is None when no folder is configured (then ``load`` is empty)."""

    folder: str | None
    load: SigmaLoad


_lock = threading.Lock()
_cache: dict[str, tuple[tuple[tuple[str, int, int], ...], SigmaLoad]] = {}


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    if not folder.is_dir():
        return ()
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix in (".yml", ".yaml") and p.is_file():
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def sigma_view(settings: Settings) -> SigmaView:
    """The configured folder's rules and problems (a missing folder is one problem)."""
    if settings.sigma_rules_dir is None:
        return SigmaView(None, SigmaLoad())
    folder = settings.sigma_rules_dir.expanduser()
    key = str(folder)
    sig = _signature(folder)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == sig:
            return SigmaView(key, hit[1])
    loaded = load_rules(folder)
    with _lock:
        _cache[key] = (sig, loaded)
    return SigmaView(key, loaded)
