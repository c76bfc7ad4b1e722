"""Sigma rules (sigmahq.io) evaluated on the activity stream, as activity policies.

* :func:`load_rules` — a folder of rule files to :class:`SigmaLoad`: the rules that evaluate
  (each a :class:`~opencasb.detect.policy.Policy` with id ``sigma.<rule id>``) and a
  :class:`SigmaProblem` for every rule that does not, with its reason.
* :func:`load_sigma_policies` — the policies of the configured folder (setting
  ``sigma_rules_dir``) for the detection stage; read again only when a file changes, and its
  problems logged once per read.

Field mapping: :mod:`.fields`; condition and value semantics: :mod:`.convert`; correlation
rules: :mod:`.correlate`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from opencasb.config import Settings
from opencasb.detect.policy import Policy
from opencasb.detect.sigma.load import LoadedRule, SigmaLoad, SigmaProblem, load_rules, log_problems

__all__ = [
    "LoadedRule",
    "SigmaLoad",
    "SigmaProblem",
    "load_rules",
    "load_sigma_policies",
]

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], SigmaLoad]] = {}


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a rule file is added, removed or edited."""
    out: list[tuple[str, int, int]] = []
    if folder.is_dir():
        for p in sorted(folder.rglob("*")):
            if p.suffix in (".yml", ".yaml"):
                try:
                    st = p.stat()
                except OSError:
                    continue
                out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_sigma_policies(settings: Settings) -> list[Policy]:
    """The policies of the rules in ``settings.sigma_rules_dir`` (none when unset).

    The folder is read again only when one of its rule files changed since the last call;
    each read logs every problem once (warning ``Sigma rule not evaluated: ...``), so a sync
    loop does not repeat them every pass."""
    folder = settings.sigma_rules_dir
    if folder is None:
        return []
    folder = folder.expanduser()
    signature = _signature(folder)
    with _lock:
        hit = _cache.get(folder)
        if hit is not None and hit[0] == signature:
            return hit[1].policies
        loaded = load_rules(folder)
        _cache[folder] = (signature, loaded)
    log_problems(loaded.problems)
    return loaded.policies
