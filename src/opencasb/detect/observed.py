""":class:`Observed`: one stored activity as the detection engines see it.

Contract: ``id``, ``t``, ``activity_type``, ``category``, ``user_key`` and ``email_key``
are plain attributes; ``activity`` and ``enrichment`` are the activity and its enrichment.
An Observed made from a stored row (:meth:`Observed.stored`, the detection stage's reads)
decodes the activity and works out its enrichment on the first use of either: the engines
decide on the plain attributes which activities they need to look into, and most of a pass
they never do (see :mod:`opencasb.store.observed`). Either way, what they see is the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity, Category
from opencasb.store.micros import from_micros, to_micros
from opencasb.store.observed import StoredActivity

__all__ = ["EnrichStored", "Observed"]

EnrichStored = Callable[[Activity, Enrichment | None], Enrichment]
"""How an activity read from the store gets the enrichment detection uses, given the one
stored with it (None: not enriched)."""


class Observed:
    """One stored activity: its store id (what evidence refers to), the activity and its
    enrichment (None: not enriched, so no IP tags and no ``enrich.*``).

    Attributes:
        t: the activity's time in microseconds since the epoch (what the engines compare;
            :attr:`time` is the datetime).
        activity_type, category: the activity's.
        user_key: the actor's :attr:`~opencasb.model.activity.Actor.user_key`.
        email_key: ``user_key`` when it is the actor's e-mail, else None.
    """

    id: int
    t: int
    activity_type: str
    category: Category
    user_key: str
    email_key: str | None

    __slots__ = (
        "_activity",
        "_enrich",
        "_enrichment",
        "_stored",
        "activity_type",
        "category",
        "email_key",
        "id",
        "t",
        "user_key",
    )

    def __init__(self, id: int, activity: Activity, enrichment: Enrichment | None = None) -> None:
        self.id = id
        self._activity: Activity | None = activity
        self._enrichment = enrichment
        self._stored: StoredActivity | None = None
        self._enrich: EnrichStored | None = None
        self.t = to_micros(activity.time)
        self.activity_type = activity.activity_type
        self.category = activity.category
        actor = activity.actor
        self.user_key = actor.user_key
        self.email_key = self.user_key if actor.email else None

    @classmethod
    def stored(cls, row: StoredActivity, enrich: EnrichStored) -> Observed:
        """An Observed of ``row`` that decodes its activity, and gets its enrichment with
        ``enrich``, on first use."""
        o = cls.__new__(cls)
        o.id = row.id
        o.t = row.t
        o.activity_type = row.activity_type
        o.category = row.category
        o.user_key = row.user_key
        o.email_key = row.email_key
        o._activity = None
        o._enrichment = None
        o._stored = row
        o._enrich = enrich
        return o

    @property
    def time(self) -> datetime:
        """The activity's time (from :attr:`t`, without decoding it)."""
        return from_micros(self.t)

    @property
    def activity(self) -> Activity:
        """The activity (decoded now if it was not yet).

        Raises:
            StoreError: its stored body is damaged; the message names the row.
        """
        a = self._activity
        if a is None:
            a = self._load()
        return a

    @property
    def enrichment(self) -> Enrichment | None:
        """Its enrichment (None: not enriched)."""
        if self._stored is not None:
            self._load()
        return self._enrichment

    @property
    def ip_tags(self) -> frozenset[str]:
        """The tags of the source address (the scope's IP tags are matched against these)."""
        e = self.enrichment
        return frozenset(e.ip_tags) if e is not None else frozenset()

    def _load(self) -> Activity:
        row, enrich = self._stored, self._enrich
        assert row is not None and enrich is not None  # only an Observed.stored has no activity
        a = row.activity()
        self._enrichment = enrich(a, row.enrichment)
        self._activity = a
        self._stored = self._enrich = None
        return a

    def __repr__(self) -> str:
        return f"Observed(id={self.id}, activity={self.activity!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Observed):
            return NotImplemented
        return (self.id, self.activity, self.enrichment) == (
            other.id,
            other.activity,
            other.enrichment,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside: equal, not hashable
