"""The anomaly engine: activities with their enrichment and a state in, findings and a new
state out.

:meth:`AnomalyEngine.evaluate` is pure, like the policy engine's: it sorts the batch by event
time, never changes the state it is given, never reads the wall clock except through the
injected clock (for :attr:`Finding.historical` and ``detected_at``), and gives the same
findings, with the same ids, for the same input. A stage runner commits the findings,
``state.to_json()`` and its cursor in one transaction.

Each detector is a function ``(Context) -> list[Finding]`` that may update the baselines in
``context.state``; they run in :data:`DETECTORS` order, and the place baselines learn last, so
that a sign-in is judged against the history before it.

Late activities: an activity older than ones already seen is judged against the baselines as
they are now; impossible travel compares a late sign-in with the user's sign-ins just before
and just after it in event time (the last :data:`~.state.MAX_PLACES` are kept), so an Office
365 record published hours late still meets its real neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from opencasb.clock import Clock
from opencasb.detect.anomaly.base import Applies, Context, Gate
from opencasb.detect.anomaly.credentials import (
    FAILED_SIGNINS,
    FAILURES,
    MFA_FATIGUE,
    PASSWORD_SPRAY,
    PUSHES,
    failed_signins,
    mfa_fatigue,
    password_spray,
    prune_org,
)
from opencasb.detect.anomaly.files import (
    FILE_VOLUME,
    MASS_DELETE,
    MASS_DOWNLOAD,
    MASS_SHARE,
    RANSOMWARE,
    RENAMES,
    UNUSUAL_ADMIN,
    file_volume,
    ransomware,
)
from opencasb.detect.anomaly.lifecycle import (
    DISABLED,
    DISABLED_USER,
    ENROLMENTS,
    LIFECYCLE,
    MFA_REENROL,
    disabled_user,
    mfa_reenrolment,
    track_lifecycle,
)
from opencasb.detect.anomaly.limit import apply_limit
from opencasb.detect.anomaly.mail import (
    FORWARDING,
    SUSPICIOUS_FORWARDING,
    learn_domain,
    suspicious_forwarding,
)
from opencasb.detect.anomaly.reputation import (
    ANONYMOUS_IP,
    SUSPICIOUS_IP,
    anonymous_ip,
    suspicious_ip,
)
from opencasb.detect.anomaly.settings import AnomalySettings
from opencasb.detect.anomaly.state import AnomalyState, UserState
from opencasb.detect.anomaly.travel import (
    IMPOSSIBLE_TRAVEL,
    INFREQUENT_COUNTRY,
    SIGNINS,
    impossible_travel,
    infrequent_country,
    learn_place,
)
from opencasb.detect.engine import Finding, Observed
from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Category

__all__ = ["APPLIES", "DETECTORS", "AnomalyEngine", "Detector"]

Detector = Callable[[Context], list[Finding]]

DETECTORS: dict[str, Detector] = {
    IMPOSSIBLE_TRAVEL: impossible_travel,
    INFREQUENT_COUNTRY: infrequent_country,
    ANONYMOUS_IP: anonymous_ip,
    SUSPICIOUS_IP: suspicious_ip,
    PASSWORD_SPRAY: password_spray,
    MFA_FATIGUE: mfa_fatigue,
    FAILED_SIGNINS: failed_signins,
    MASS_DOWNLOAD: file_volume,
    MASS_SHARE: file_volume,
    MASS_DELETE: file_volume,
    UNUSUAL_ADMIN: file_volume,
    RANSOMWARE: ransomware,
    DISABLED_USER: disabled_user,
    MFA_REENROL: mfa_reenrolment,
    SUSPICIOUS_FORWARDING: suspicious_forwarding,
}
"""Every detector, by id (the id is the finding's ``policy_id``)."""

_Step = Callable[[Context], Any]
"""A detector, or a baseline learner (which finds nothing)."""

APPLIES: dict[_Step, Applies] = {
    impossible_travel: SIGNINS,
    infrequent_country: SIGNINS,
    anonymous_ip: SIGNINS,
    suspicious_ip: SIGNINS,
    password_spray: FAILURES,
    mfa_fatigue: PUSHES,
    failed_signins: FAILURES,
    file_volume: FILE_VOLUME,
    ransomware: RENAMES,
    disabled_user: DISABLED,
    mfa_reenrolment: ENROLMENTS,
    suspicious_forwarding: FORWARDING,
    learn_place: SIGNINS,
    track_lifecycle: LIFECYCLE,
}
"""What each detector and learner acts on (see :class:`~.base.Applies`)."""

_LEARNERS: tuple[_Step, ...] = (learn_place, track_lifecycle)
"""The baseline learners, run after the detectors (a sign-in is judged against the history
before it); then :func:`~.mail.learn_domain`, the organisation's learner, on every activity."""
_Steps = tuple[tuple[tuple[_Step, Gate | None], ...], tuple[_Step, ...]]
_MEMO_LIMIT = 4096  # activity types come from vendor data: bound the table
_HOUR_US = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMPTY = Enrichment()


class AnomalyEngine:
    """Runs the anomaly detectors with one :class:`AnomalySettings`."""

    def __init__(
        self,
        settings: AnomalySettings | None = None,
        *,
        clock: Clock,
        user_status: Mapping[str, str] | None = None,
    ) -> None:
        """``user_status``: the inventory's status per user key (lower-case e-mail, else id),
        e.g. ``SUSPENDED``, for users disabled before the activity history begins."""
        self.settings = settings or AnomalySettings()
        self._status = user_status or {}
        unknown = set(self.settings.disabled) - set(DETECTORS)
        if unknown:
            raise ValueError(f"unknown anomaly detector(s): {', '.join(sorted(unknown))}")
        self._clock = clock
        # one function may serve several ids (downloads, sharing, deletions): run it once
        active = [f for k, f in DETECTORS.items() if k not in self.settings.disabled]
        self._active = list(dict.fromkeys(active))
        self._steps: dict[tuple[str, Category], _Steps] = {}

    def _steps_for(self, activity_type: str, category: Category) -> _Steps:
        """The detectors and the learners that act on activities of this type and category,
        each in their fixed order."""
        key = (activity_type, category)
        hit = self._steps.get(key)
        if hit is not None:
            return hit
        steps = (
            tuple(
                (f, APPLIES[f].gate) for f in self._active if APPLIES[f](activity_type, category)
            ),
            tuple(f for f in _LEARNERS if APPLIES[f](activity_type, category)),
        )
        if len(self._steps) < _MEMO_LIMIT:
            self._steps[key] = steps
        return steps

    def evaluate(
        self, items: Sequence[tuple[Observed, Enrichment | None]], state: AnomalyState
    ) -> tuple[list[Finding], AnomalyState]:
        """The findings of ``items`` (sorted by event time; ties keep their order) and the new
        state. ``state`` is not changed."""
        st = state.copy()
        findings: list[Finding] = []
        now = self._clock.now()
        for observed, enrichment in sorted(items, key=lambda it: it[0].t):
            findings.extend(self.observe(observed, enrichment, st, now))
        return findings, st

    def evaluate_observed(
        self, observed: Sequence[Observed], state: AnomalyState
    ) -> tuple[list[Finding], AnomalyState]:
        """:meth:`evaluate` over activities that carry their own enrichment (what the
        detection stage reads); one without is judged with an empty :class:`Enrichment`
        (no place, no tags)."""
        return self.evaluate([(o, None) for o in observed], state)

    def observe(
        self,
        observed: Observed,
        enrichment: Enrichment | None,
        state: AnomalyState,
        now: datetime | None = None,
    ) -> list[Finding]:
        """The findings of one activity; updates ``state`` in place (call in event-time
        order; :meth:`evaluate` is the pure form). ``enrichment``: None for the activity's
        own (an empty one when it has none), taken only if a step runs. ``now``: the
        clock's time, when the caller read it once for a batch."""
        # decided on the plain attributes: the activity is decoded (and the enrichment
        # worked out) only when a step runs, for its context
        t = observed.t
        watermark = state.watermark
        if t > watermark:
            if t // _HOUR_US > watermark // _HOUR_US:
                prune_org(state, t, self.settings)
            state.watermark = t
        org = state.org
        if org.first == 0 or t < org.first:
            org.first = t
        key = observed.user_key
        user: UserState | None = None
        status: str | None = None
        moved = False  # whether the user's state changed here (else the steps' doing)
        if key:
            user = state.users.get(key)
            if user is None:
                user = state.users[key] = UserState(first=t)
                moved = True
            elif t < user.first:
                user.first = t
                moved = True
            status = self._status.get(key)
        out: list[Finding] = []
        steps = self._steps.get((observed.activity_type, observed.category))
        if steps is None:
            steps = self._steps_for(observed.activity_type, observed.category)
        detectors, learners = steps
        ctx: Context | None = None  # made for the first step that runs (most: none)
        for detector, gate in detectors:
            if gate is not None and not gate(user, status):
                continue
            if ctx is None:
                ctx = self._context(observed, enrichment, state, key, user, t, status, now)
            out += detector(ctx)
        for learn in learners:
            if ctx is None:
                ctx = self._context(observed, enrichment, state, key, user, t, status, now)
            learn(ctx)
        if key and (moved or ctx is not None):
            # only the steps (handed a context) and the lines above change a user's state:
            # a user none of them touched need not be stored again
            state.changed.add(key)
        # the e-mail's domain: the key is the e-mail case-folded, which learn_domain does
        learn_domain(observed.email_key, org)
        if out:
            out = apply_limit(out, t, self.settings.daily_alert_limit, state, user)
        return out

    def _context(
        self,
        observed: Observed,
        enrichment: Enrichment | None,
        state: AnomalyState,
        key: str,
        user: UserState | None,
        t: int,
        status: str | None,
        now: datetime | None,
    ) -> Context:
        return Context(
            activity_id=observed.id,
            activity=observed.activity,
            enrichment=enrichment if enrichment is not None else observed.enrichment or _EMPTY,
            state=state,
            user_key=key,
            user=user,
            t=t,
            settings=self.settings,
            now=self._clock.now() if now is None else now,
            status=status,
        )
