"""What every request of the portal and the API shares: the store, the settings, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher

from opencasb.clock import Clock, SystemClock
from opencasb.config import Settings
from opencasb.enrich.enricher import Enricher
from opencasb.enrich.stored import EnricherSource
from opencasb.store import Store
from opencasb.web.api.typegate import KnownTypes

__all__ = ["WebContext"]


@dataclass
class WebContext:
    """Resources of one running web app (see :func:`opencasb.web.app.create_app`).

    ``store`` is shared by every request (a Store is thread-safe); ``clock`` stamps sessions,
    throttling and audit entries (tests inject a FakeClock; the store has its own clock for
    its rows, which should be the same object); ``password_hasher`` hashes and checks
    passwords (tests pass one with cheap parameters); ``enricher`` enriches activities
    for answers and filters: when not given, the settings' MaxMind files and the stored IP
    tags, reloaded when those change (:class:`~opencasb.enrich.stored.EnricherSource`);
    ``known_types`` answers a filter on a type never stored without a scan.
    """

    store: Store
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    enricher: Enricher | None = None
    known_types: KnownTypes = field(default_factory=KnownTypes)
    _enrichers: EnricherSource | None = field(default=None, init=False, repr=False)

    def get_enricher(self) -> Enricher:
        """The enricher given, else the current one of the stored IP tags (one small read
        per call to see whether they changed)."""
        if self.enricher is not None:
            return self.enricher
        if self._enrichers is None:
            self._enrichers = EnricherSource(self.store, self.settings)
        return self._enrichers.current()
