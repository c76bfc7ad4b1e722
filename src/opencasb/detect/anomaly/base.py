"""What every anomaly detector shares: the activity in context, sign-in classification and
the finding builder.

Sign-in classification follows the commercial product: impossible travel, infrequent country,
anonymous and suspicious IP consider only **successful interactive** sign-ins (Okta
``user.session.start``, Office 365 ``UserLoggedIn``); single sign-on into other apps, token
grants and failed attempts do not count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from opencasb.detect.anomaly.settings import AnomalySettings
from opencasb.detect.anomaly.state import AnomalyState, UserState
from opencasb.detect.engine import Finding
from opencasb.detect.policy import PolicyCategory, Severity, Tactic
from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity, Category, Outcome

__all__ = [
    "EPISODE_GAP_US",
    "EVERYTHING",
    "FAILED_SIGNIN_TYPES",
    "INTERACTIVE_SIGNIN_TYPES",
    "UNSET",
    "Applies",
    "Context",
    "Gate",
    "actor_key",
    "is_failed_signin",
    "is_interactive_signin",
    "micros",
    "place_name",
    "utc_day",
]

INTERACTIVE_SIGNIN_TYPES = frozenset({"user.session.start", "UserLoggedIn"})
"""``activity_type`` values of interactive sign-ins (Okta, Office 365)."""
_FAILED_TYPES = frozenset({"UserLoginFailed"})
FAILED_SIGNIN_TYPES = INTERACTIVE_SIGNIN_TYPES | _FAILED_TYPES
"""``activity_type`` values :func:`is_failed_signin` can be true for."""
_US = 1_000_000
_DAY_US = 86_400 * _US
EPISODE_GAP_US = 24 * 3_600 * _US
"""A user's findings of one detector no more than this apart are one episode (one alert)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
UNSET: Any = object()
"""The value of :attr:`Context.place` before anyone asked for it."""


def micros(dt: datetime) -> int:
    """Microseconds since the epoch."""
    d = dt - _EPOCH
    return (d.days * 86_400 + d.seconds) * _US + d.microseconds


def to_time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def utc_day(us: int) -> str:
    """The UTC date of ``us`` (µs since the epoch), ``YYYY-MM-DD``:
    ``to_time(us).date().isoformat()``, made once per day."""
    return _day_text(us // _DAY_US)


@lru_cache(maxsize=64)
def _day_text(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).date().isoformat()


def actor_key(activity: Activity) -> str:
    """The user an activity belongs to: the e-mail (lower case, so that Okta and Office 365
    sign-ins of one person share a baseline), else the actor's id or name; ``""`` for none."""
    return activity.actor.user_key


def is_interactive_signin(activity: Activity) -> bool:
    """A successful interactive sign-in."""
    return (
        activity.activity_type in INTERACTIVE_SIGNIN_TYPES and activity.outcome is Outcome.SUCCESS
    )


def is_failed_signin(activity: Activity) -> bool:
    """A failed interactive sign-in (bad password, locked out, unknown user...)."""
    if activity.activity_type in _FAILED_TYPES:
        return True
    return (
        activity.activity_type in INTERACTIVE_SIGNIN_TYPES and activity.outcome is Outcome.FAILURE
    )


def place_name(city: str | None, country: str) -> str:
    """``Paris, FR`` or ``FR``."""
    return f"{city}, {country}" if city else country


Gate = Callable[[UserState | None, str | None], bool]
"""A cheap test of the activity's user (None: no actor) and inventory status."""


@dataclass(frozen=True, slots=True)
class Applies:
    """The activities a detector (or a baseline learner) can act on: those of a type in
    ``types`` or of a category in ``categories``, or all with ``everything``; with a
    ``gate``, only those whose user state and status pass it. The engine hands a detector
    only those (most activities concern no detector), so this must be a superset of what
    the detector finds or learns from (a gate is false only when the detector would find
    nothing and change nothing): the detector still decides."""

    types: frozenset[str] = frozenset()
    categories: frozenset[Category] = frozenset()
    everything: bool = False
    gate: Gate | None = None

    def __call__(self, activity_type: str, category: Category) -> bool:
        return self.everything or activity_type in self.types or category in self.categories


EVERYTHING = Applies(everything=True)
"""For a detector that may act on any activity."""


@dataclass(slots=True)
class Context:
    """One activity as the detectors see it, with the state they may change.

    ``user`` is None for activities without an actor. ``now`` is the wall-clock time of this
    evaluation (for ``historical``).
    """

    activity_id: int
    activity: Activity
    enrichment: Enrichment
    state: AnomalyState
    user_key: str
    user: UserState | None
    t: int
    settings: AnomalySettings
    now: datetime
    status: str | None = None
    """The user's status in the inventory (``ACTIVE``, ``SUSPENDED``...), when known."""
    place: Any = UNSET
    """The activity's place (:func:`~.travel` computes it once for the detectors and the
    learner of one activity); :data:`UNSET` until then."""

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(self.enrichment.ip_tags)

    def learned(self, first: int) -> bool:
        """Has a baseline that started at ``first`` finished its learning period?"""
        return first > 0 and self.t - first >= self.settings.learning // _ONE_US

    def finding(
        self,
        detector: str,
        name: str,
        *,
        severity: Severity,
        tactic: Tactic,
        technique: str,
        evidence: list[tuple[int, int]],
        explanation: str,
        entity_kind: str = "user",
        entity: str | None = None,
        users: tuple[str, ...] | None = None,
        ips: tuple[str, ...] | None = None,
        episode: str = "",
        continues: bool = False,
        category: PolicyCategory = PolicyCategory.THREAT_DETECTION,
    ) -> Finding:
        """A finding of ``detector`` over ``evidence`` (``(time, activity id)`` pairs).

        The id is a pure function of the detector and the evidence ids, so re-evaluating the
        same activities after a restart gives the same finding id."""
        ev = sorted(set(evidence))
        ids = tuple(i for _, i in ev)
        digest = hashlib.sha256(f"{detector}\n{','.join(map(str, ids))}".encode()).hexdigest()
        first, last = to_time(ev[0][0]), to_time(ev[-1][0])
        src = self.activity.src_ip
        if not episode and entity is None and self.user is not None:
            # one alert per episode: this user's findings of this detector no more than
            # EPISODE_GAP apart continue the first one's alert instead of opening another
            prior = self.user.episodes.get(detector)
            if prior is not None and 0 <= ev[0][0] - int(prior[0]) <= EPISODE_GAP_US:
                episode, continues = str(prior[1]), True
            self.user.episodes[detector] = [ev[-1][0], episode or digest[:32]]
        return Finding(
            id=digest[:32],
            policy_id=detector,
            policy_name=name,
            severity=severity,
            category=category,
            tactic=tactic,
            technique=technique,
            entity_kind=entity_kind,
            entity=entity if entity is not None else self.user_key,
            users=users if users is not None else ((self.user_key,) if self.user_key else ()),
            apps=(self.activity.app,),
            ips=ips if ips is not None else ((src,) if src else ()),
            activity_ids=ids,
            first=first,
            last=last,
            count=len(ids),
            explanation=explanation,
            historical=self.now - last > self.settings.historical_after,
            detected_at=self.now,
            episode=episode or digest[:32],
            continues=continues,
        )
