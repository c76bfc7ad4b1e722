"""The enricher of a running OpenCASB: the settings' MaxMind files and the stored IP ranges.

:func:`load_enricher` builds one for a command that runs once; :class:`EnricherSource` keeps
one for a process that runs for long (``opencasb sync``, ``serve``, the demo) and replaces it
when the stored ranges change, which it learns from the tag-set version
(:mod:`opencasb.store.iptags`): one small read per :meth:`EnricherSource.current`.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from opencasb.enrich.enricher import Enricher

if TYPE_CHECKING:
    from opencasb.config import Settings
    from opencasb.store.facade import Store

__all__ = ["EnricherSource", "load_enricher"]

log = logging.getLogger(__name__)


def load_enricher(store: Store, settings: Settings | None = None) -> Enricher:
    """An enricher with the settings' MaxMind files (none when ``settings`` is None) and
    every stored IP range.

    Raises:
        ConfigError: a configured MaxMind file is missing, unreadable or of the wrong kind.
        StoreError: the ranges cannot be read.
    """
    return EnricherSource(store, settings).current()


class EnricherSource:
    """The current enricher of a long-running process, rebuilt with the stored ranges
    whenever their version moved. Safe to share between threads: readers get a whole
    enricher, old or new, never one half-changed (see :meth:`Enricher.with_ip_ranges`).

    Args:
        store: where the ranges and their version are.
        settings: the MaxMind files to use (read once, here); None: the built-in database.
    """

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self._store = store
        self._base = Enricher.from_settings(settings) if settings is not None else Enricher()
        self._enricher: Enricher | None = None
        self._version = -1
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """The tag-set version of the ranges the current enricher holds (-1: none yet)."""
        return self._version

    def current(self) -> Enricher:
        """The enricher, with the ranges reloaded first if they changed since the last call.

        Raises:
            StoreError: the version or the ranges cannot be read.
        """
        tags = self._store.ip_tags
        if self._enricher is not None and tags.version() == self._version:
            return self._enricher
        with self._lock:
            if self._enricher is None or tags.version() != self._version:
                ranges, version = tags.ranges()
                self._enricher = self._base.with_ip_ranges(ranges)
                if self._version >= 0:
                    log.info("IP tags changed (version %d): %d ranges", version, len(ranges))
                self._version = version
            return self._enricher
