"""The anomaly detectors' daily alert limit: at most so many NEW alerts per detector and UTC
day, as an activity policy's ``daily_alert_limit`` (a broken baseline or a noisy tenant must
not raise thousands of alerts a day).

A finding that continues an episode (:attr:`Finding.continues`: it extends an alert already
raised) always passes and is not counted. A new finding over the limit is not raised: it is
counted in :attr:`~.state.OrgState.limits` (``[day, new alerts, suppressed]`` per detector),
logged once per detector and day, and its episode is forgotten, so that the attack's next
finding is new again (and meets the limit again) instead of extending an alert that was never
written. The day is the event time's, as for the policies: counts start over when an activity
of a later UTC day is seen, and a late activity of an earlier day counts in the current one.
The counts live in the anomaly stage's state, committed with its cursor: a pass re-run after
a crash starts again from the committed counts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from opencasb.detect.anomaly.state import AnomalyState, UserState
from opencasb.detect.engine import Finding

__all__ = ["apply_limit", "suppressed_on"]

log = logging.getLogger(__name__)

_DAY_US = 86_400 * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def apply_limit(
    found: list[Finding], t: int, limit: int, state: AnomalyState, user: UserState | None
) -> list[Finding]:
    """The findings of one activity (at event time ``t`` µs) that may be raised under
    ``limit`` new alerts per detector and day; counts the others in ``state`` and forgets
    their episodes (in ``user``'s state, or the organisation's for password spray)."""
    day = t - t % _DAY_US
    out: list[Finding] = []
    for f in found:
        if f.continues:
            out.append(f)
            continue
        c = state.org.limits.get(f.policy_id)
        if c is None or day > c[0]:
            c = state.org.limits[f.policy_id] = [day, 0, 0]
        if c[1] < limit:
            c[1] += 1
            out.append(f)
            continue
        if c[2] == 0:
            # once a detector and day: what is over the limit leaves no other trace than the
            # count (``opencasb policies list``, the policies API)
            log.warning(
                "anomaly detector %s reached its daily alert limit of %d on %s (UTC): further "
                "new alerts that day are counted, not raised",
                f.policy_id, limit, f"{_EPOCH + timedelta(microseconds=c[0]):%Y-%m-%d}",
            )  # fmt: skip
        c[2] += 1
        _forget_episode(f, state, user)
    return out


def _forget_episode(f: Finding, state: AnomalyState, user: UserState | None) -> None:
    """Forget the episode a suppressed finding opened (where the detectors record it), so
    that no later finding extends an alert that does not exist."""
    if user is not None:
        ep = user.episodes.get(f.policy_id)
        if ep is not None and ep[1] == f.episode:
            del user.episodes[f.policy_id]
    ep = state.org.spray_episode.get(f.entity)
    if ep is not None and ep[1] == f.episode:
        del state.org.spray_episode[f.entity]


def suppressed_on(state: AnomalyState, now: datetime) -> dict[str, int]:
    """Per detector, the new findings counted over the daily limit on ``now``'s UTC day
    (detectors with none left out)."""
    d = now - _EPOCH
    day = d.days * _DAY_US
    return {pid: c[2] for pid, c in sorted(state.org.limits.items()) if c[0] == day and c[2]}
