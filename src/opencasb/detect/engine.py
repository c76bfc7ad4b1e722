"""The activity-policy engine: observed activities and a state in, findings and a new state out.

:meth:`PolicyEngine.evaluate` is pure: it never reads the wall clock (the injected clock only
says what "now" is, to mark findings about old activity as historical), never mutates the
state it is given, and gives the same findings, with the same ids, for the same input. A stage
runner therefore commits the findings, ``state.to_json()`` and its cursor in one transaction;
after a crash it re-reads the same activities with the old state and gets the same findings
(same :attr:`Finding.id`), so nothing is lost and nothing is raised twice.

Semantics:

* **Single activity**: each activity that passes the filter and the scope is a finding.
  Findings of one user (in one instance) no more than the policy's ``episode_gap`` apart
  (default :data:`~.policy.SINGLE_EPISODE_GAP`, an hour) are one **episode**, as below:
  three MFA resets of one account in ten minutes are one alert with three activities, not
  three alerts. A gap of zero gives an alert per activity.
* **Repeated activity**: matches are kept per group (:class:`~.policy.GroupBy`) in a window.
  When an activity arrives, the densest span of ``timeframe`` that contains it is counted
  (matches, or distinct values of ``distinct``); above ``threshold`` it is a finding whose
  evidence is that span's matches, which then leave the window (the next finding needs a
  threshold's worth of new matches). Findings of one group no more than a timeframe apart
  are one **episode** (:attr:`Finding.episode`): one alert, extended by each continuation.
  Activities are processed in event-time order; one that
  arrives late (another batch) is still counted with its neighbours in event time, as long as
  it is within ``lateness`` of the newest activity seen.
* **Daily alert limit**: new episodes beyond a policy's limit on one UTC day (of event time)
  are counted in the state, not returned; continuations of an episode always are.
* **Auto-disable**: a policy matching more than ``max_matches_per_day`` activities in one UTC
  day, or ``max_matches_per_block`` in one three-hour block, is disabled, with the reason kept
  in ``state.disabled`` for the UI; it evaluates nothing more until :meth:`reset_policy`.
"""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from opencasb.clock import Clock
from opencasb.detect.dispatch import Dispatch
from opencasb.detect.distinct import getter, text
from opencasb.detect.policy import (
    GroupBy,
    Policy,
    PolicyCategory,
    Scope,
    Severity,
    Tactic,
)
from opencasb.detect.shared import SharedFilter
from opencasb.detect.state import Counters, Disabled, EngineState, Entry
from opencasb.detect.wording import duration_text, from_text, names_text
from opencasb.enrich.enricher import Enrichment
from opencasb.model.activity import Activity
from opencasb.store.observed import Observed

__all__ = [
    "MAX_MATCHES_PER_BLOCK",
    "MAX_MATCHES_PER_DAY",
    "Directory",
    "Finding",
    "Observed",
    "PolicyEngine",
]

log = logging.getLogger(__name__)

MAX_MATCHES_PER_DAY = 200_000
"""The commercial product's rule: a policy matching more in a day is disabled."""
MAX_MATCHES_PER_BLOCK = 100_000
"""... or more in three hours."""

_US = 1_000_000
_DAY = 86_400 * _US
_BLOCK = 3 * 3_600 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEMO_LIMIT = 4096  # activity types come from vendor data: bound the table


def _time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class Directory(Protocol):
    """Group membership, for scopes that name groups."""

    def groups_of(self, activity: Activity) -> frozenset[str]:
        """The names of the groups the activity's actor belongs to (lower case)."""
        ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One policy match worth an alert.

    ``id`` is a pure function of the policy and the evidence: the same finding found again
    (after a restart) has the same id. ``entity`` is the user (e-mail, else id or name) or,
    for policies grouped by source address, the address. ``first``/``last`` are the times of
    the first and last evidence activity. ``historical`` is True when the last evidence is
    older than the engine's ``historical_after`` at ``detected_at`` (a backfill's finding).
    ``episode`` is the same for every finding of one continuing attack (the id of its first
    finding); ``continues`` is True for all but that first one: the alert layer extends the
    episode's alert with them instead of opening another.
    """

    id: str
    policy_id: str
    policy_name: str
    severity: Severity
    category: PolicyCategory
    tactic: Tactic | None
    technique: str | None
    entity_kind: str  # "user" or "ip"
    entity: str
    users: tuple[str, ...]
    apps: tuple[str, ...]
    ips: tuple[str, ...]
    activity_ids: tuple[int, ...]
    first: datetime
    last: datetime
    count: int
    explanation: str
    historical: bool
    detected_at: datetime
    episode: str = ""
    continues: bool = False


def _actor(activity: Activity) -> str:
    return activity.actor.user_key


class PolicyEngine:
    """Evaluates a fixed set of policies; build a new engine when the policies change.

    Args:
        policies: every policy (disabled ones are kept for their ids, and skipped).
        clock: "now", for :attr:`Finding.detected_at` and ``historical``.
        directory: group membership; without one, a scope that includes groups matches
            nobody and one that excludes groups excludes nobody.
        lateness: how far behind the newest activity a late one may be and still meet its
            neighbours in a window; windows keep their matches this much longer.
        historical_after: findings whose last evidence is older than this are historical.
    """

    def __init__(
        self,
        policies: Iterable[Policy],
        *,
        clock: Clock,
        directory: Directory | None = None,
        lateness: timedelta = timedelta(hours=1),
        historical_after: timedelta = timedelta(hours=24),
        max_matches_per_day: int = MAX_MATCHES_PER_DAY,
        max_matches_per_block: int = MAX_MATCHES_PER_BLOCK,
    ) -> None:
        self.policies: tuple[Policy, ...] = tuple(policies)
        ids = [p.id for p in self.policies]
        if len(set(ids)) != len(ids):
            raise ValueError("policy ids must be unique")
        self._clock = clock
        self._directory = directory
        self._lateness = _us(lateness)
        self._historical_after = historical_after
        self._max_day = max_matches_per_day
        self._max_block = max_matches_per_block
        self._dispatch = Dispatch([p for p in self.policies if p.enabled])
        self._compiled = {p.id: (p, _predicate(p), p.scope != _EVERYONE) for p in self.policies}
        self._plans: dict[tuple[str, str], tuple[_Compiled, ...]] = {}
        self._distinct_of = {
            p.id: getter(p.repeated.distinct)
            for p in self.policies
            if p.repeated is not None and p.repeated.distinct
        }

    def _candidates(self, activity_type: str, category: str) -> tuple[_Compiled, ...]:
        """The policies that could match an activity of this type and category
        (:class:`Dispatch`), compiled, in the policies' order."""
        key = (activity_type, category)
        plan = self._plans.get(key)
        if plan is None:
            found = self._dispatch.candidates(activity_type, category)
            plan = tuple(self._compiled[p.id] for p in found)
            if len(self._plans) < _MEMO_LIMIT:
                self._plans[key] = plan
        return plan

    def reset_policy(self, state: EngineState, policy_id: str) -> EngineState:
        """A copy of ``state`` that forgets ``policy_id`` (its windows, counters and
        auto-disable): what enabling a policy again, or changing it, needs."""
        out = state.copy()
        out.windows.pop(policy_id, None)
        out.episodes.pop(policy_id, None)
        out.counters.pop(policy_id, None)
        out.disabled.pop(policy_id, None)
        return out

    def evaluate(
        self, observed: Sequence[Observed], state: EngineState
    ) -> tuple[list[Finding], EngineState]:
        """The findings of ``observed`` (sorted by time; ties keep their order) and the new
        state. ``state`` is not changed."""
        st = state.copy()
        known = {p.id for p in self.policies}
        for table in (st.windows, st.episodes):
            for pid in [p for p in table if p not in known]:
                del table[pid]
        now = self._clock.now()
        findings: list[Finding] = []
        # Only the activities some policy could match are evaluated (most are not): sorted
        # alone, they keep the order they have in the whole batch sorted (stable sort).
        # The watermark is the newest time of the whole batch (nothing reads it before the
        # end).
        plans = self._plans
        todo: list[tuple[Observed, tuple[_Compiled, ...]]] = []
        newest: int | None = None
        for item in observed:
            # decided on the plain attributes: the activity is decoded only for a candidate
            if newest is None or item.t > newest:
                newest = item.t
            found_for = plans.get((item.activity_type, item.category))
            if found_for is None:
                found_for = self._candidates(item.activity_type, item.category)
            if found_for:
                todo.append((item, found_for))
        if newest is not None:
            st.watermark = max(st.watermark, newest)
        todo.sort(key=_time_of)
        disabled = st.disabled
        for item, policies in todo:
            a = item.activity
            e = item.enrichment
            t = -1
            groups: frozenset[str] | None = None
            for policy, matches, scoped in policies:
                if policy.id in disabled or not matches(a, e):
                    continue
                if scoped:
                    if policy.scope.needs_groups and groups is None:
                        groups = (
                            self._directory.groups_of(a)
                            if self._directory is not None
                            else frozenset()
                        )
                    if not self._in_scope(policy, a, item.ip_tags, groups or frozenset()):
                        continue
                if t < 0:
                    t = item.t
                if not self._count_match(policy, st, t):
                    continue
                found = (
                    self._single(policy, item, st, t, now)
                    if policy.repeated is None
                    else self._repeated(policy, item, st, t, now)
                )
                if found is not None:  # within the daily limit, or continuing an episode
                    findings.append(found)
        self._prune(st)
        return findings, st

    # ------------------------------------------------------------------ scope and limits

    @staticmethod
    def _in_scope(
        policy: Policy, activity: Activity, tags: frozenset[str], groups: frozenset[str]
    ) -> bool:
        scope = policy.scope
        a = activity.actor
        if scope.include_users or scope.exclude_users:
            names = {v.casefold() for v in (a.email, a.id, a.name) if v}
            if scope.include_users and not names & scope.include_users:
                return False
            if names & scope.exclude_users:
                return False
        if scope.include_groups and not groups & scope.include_groups:
            return False
        if groups & scope.exclude_groups:
            return False
        if scope.include_ip_tags and not tags & scope.include_ip_tags:
            return False
        return not tags & scope.exclude_ip_tags

    def _count_match(self, policy: Policy, st: EngineState, t: int) -> bool:
        """Count one match; False (and the policy disabled) when it is one too many."""
        c = st.counters.setdefault(policy.id, Counters())
        day, block = t - t % _DAY, t - t % _BLOCK
        if day > c.day:
            c.day, c.matches_day, c.findings_day, c.suppressed_day = day, 0, 0, 0
        if block > c.block:
            c.block, c.matches_block = block, 0
        c.matches_day += 1
        c.matches_block += 1
        reason = ""
        if c.matches_day > self._max_day:
            reason = (
                f"matched more than {self._max_day:,} activities on "
                f"{_time(c.day):%Y-%m-%d} (UTC), the limit for one day"
            )
        elif c.matches_block > self._max_block:
            start = _time(c.block)
            reason = (
                f"matched more than {self._max_block:,} activities between "
                f"{start:%H:%M} and {start + timedelta(hours=3):%H:%M} UTC on "
                f"{start:%Y-%m-%d}, the limit for three hours"
            )
        if not reason:
            return True
        st.disabled[policy.id] = Disabled(
            f"Disabled automatically: it {reason}. A policy that matches this often raises "
            "noise, not alerts: narrow its filter or scope, then enable it again.",
            t,
        )
        st.windows.pop(policy.id, None)
        st.episodes.pop(policy.id, None)
        return False

    @staticmethod
    def _within_limit(policy: Policy, st: EngineState) -> bool:
        c = st.counters[policy.id]
        if c.findings_day >= policy.daily_alert_limit:
            if c.suppressed_day == 0:
                # Once a policy and day (the counters reset with the day): the findings over
                # the limit are counted, not raised; without this line they leave no trace
                # but the count (``opencasb policies list``, the policies API).
                log.warning(
                    "policy %s reached its daily alert limit of %d on %s (UTC): further "
                    "findings that day are counted, not raised",
                    policy.id, policy.daily_alert_limit, f"{_time(c.day):%Y-%m-%d}",
                )  # fmt: skip
            c.suppressed_day += 1
            return False
        c.findings_day += 1
        return True

    # ------------------------------------------------------------------ findings

    def _finding(
        self,
        policy: Policy,
        entity_kind: str,
        entity: str,
        evidence: Sequence[Entry],
        count: int,
        explanation: str,
        now: datetime,
    ) -> Finding:
        ids = tuple(e[1] for e in evidence)
        digest = hashlib.sha256(f"{policy.id}\n{','.join(map(str, ids))}".encode()).hexdigest()
        last = _time(evidence[-1][0])
        return Finding(
            id=digest[:32],
            policy_id=policy.id,
            policy_name=policy.name,
            severity=policy.severity,
            category=policy.category,
            tactic=policy.tactic,
            technique=policy.technique,
            entity_kind=entity_kind,
            entity=entity,
            users=_distinct(e[2] for e in evidence),
            apps=_distinct(e[5] for e in evidence),
            ips=_distinct(e[3] for e in evidence),
            activity_ids=ids,
            first=_time(evidence[0][0]),
            last=last,
            count=count,
            explanation=f"{explanation}. {policy.note}" if policy.note else explanation,
            historical=last < now - self._historical_after,
            detected_at=now,
            episode=digest[:32],
        )

    def _single(
        self, policy: Policy, item: Observed, st: EngineState, t: int, now: datetime
    ) -> Finding | None:
        a = item.activity
        actor = _actor(a)
        entry: Entry = (t, item.id, actor, a.src_ip or "", "", a.app)
        found = self._finding(policy, "user", actor or "unknown", [entry], 1, _describe(item), now)
        if not actor or not policy.episode_gap:  # an alert of its own
            return found if self._within_limit(policy, st) else None
        key = f"{a.instance or a.app}\n{actor}"
        return self._episode(st, policy, key, found, [entry], _us(policy.episode_gap))

    def _repeated(
        self, policy: Policy, item: Observed, st: EngineState, t: int, now: datetime
    ) -> Finding | None:
        rep = policy.repeated
        assert rep is not None
        a = item.activity
        actor = _actor(a)
        if rep.group_by is GroupBy.SOURCE_IP:
            if not a.src_ip:
                return None
            key = a.src_ip
        elif not actor:
            return None
        elif rep.group_by is GroupBy.USER_ACROSS_APPS and a.actor.email:
            key = actor
        else:
            key = f"{a.instance or a.app}\n{actor}"
        distinct = ""
        get = self._distinct_of.get(policy.id)
        if get is not None:
            values = get(a)
            if not values:
                return None
            distinct = text(values[0])
        entry: Entry = (t, item.id, actor, a.src_ip or "", distinct, a.app)
        entries = st.windows.setdefault(policy.id, {}).setdefault(key, [])
        insort(entries, entry)
        tf = _us(rep.timeframe)
        lo, hi, count = _densest(entries, t, tf, get is not None)
        if count <= rep.threshold:
            return None
        evidence = entries[lo:hi]
        del entries[lo:hi]
        counted = f"{count} {rep.label}"
        if get is not None:
            counted += f" ({len(evidence)} activities)"
        by_ip = rep.group_by is GroupBy.SOURCE_IP
        who = "" if by_ip else f" by {names_text(_distinct(e[2] for e in evidence))}"
        span = _time(evidence[-1][0]) - _time(evidence[0][0])
        ips = _distinct(e[3] for e in evidence)
        explanation = (
            f"{counted}{who} in {duration_text(span)}{from_text(ips)}, threshold {rep.threshold} "
            f"in {duration_text(rep.timeframe)}"
        )
        kind, entity = ("ip", key) if by_ip else ("user", actor)
        found = self._finding(policy, kind, entity, evidence, count, explanation, now)
        return self._episode(st, policy, key, found, evidence, tf)

    def _episode(
        self,
        st: EngineState,
        policy: Policy,
        key: str,
        found: Finding,
        evidence: list[Entry],
        tf: int,
    ) -> Finding | None:
        """Join ``found`` to the group's episode when the episode's last evidence is no more
        than ``tf`` before it (or after: a late batch), else start one if the policy's daily
        alert limit allows: over it, None, and no episode is kept (else the group's next
        finding would continue an alert that was never raised, past the limit)."""
        policy_id = policy.id
        episodes = st.episodes.setdefault(policy_id, {})
        first, last = evidence[0][0], evidence[-1][0]
        open_ = episodes.get(key)
        if open_ is not None and first - tf <= open_[1] and last + tf >= open_[0]:
            start = min(open_[0], first)
            episodes[key] = (start, max(open_[1], last))
            episode = hashlib.sha256(f"{policy_id}\n{key}\n{open_[0]}".encode()).hexdigest()
            return replace(found, episode=episode[:32], continues=True)
        if not self._within_limit(policy, st):
            if not episodes:
                del st.episodes[policy_id]
            return None
        episodes[key] = (first, last)
        episode = hashlib.sha256(f"{policy_id}\n{key}\n{first}".encode()).hexdigest()
        return replace(found, episode=episode[:32])

    def _prune(self, st: EngineState) -> None:
        for policy in self.policies:
            rep = policy.repeated
            groups = st.windows.get(policy.id)
            if rep is None or not groups:
                st.windows.pop(policy.id, None)
                continue
            horizon = st.watermark - _us(rep.timeframe) - self._lateness
            for key in list(groups):
                entries = groups[key]
                cut = bisect_left(entries, (horizon,))
                if cut:
                    del entries[:cut]
                if not entries:
                    del groups[key]
            if not groups:
                del st.windows[policy.id]
        for policy in self.policies:
            rep = policy.repeated
            episodes = st.episodes.get(policy.id)
            if not episodes:
                continue
            gap = policy.episode_gap if rep is None else rep.timeframe
            horizon = st.watermark - _us(gap) - self._lateness
            for key in [k for k, (_, last) in episodes.items() if last < horizon]:
                del episodes[key]
            if not episodes:
                del st.episodes[policy.id]


_Compiled = tuple[Policy, Callable[[Activity, Enrichment | None], bool], bool]
"""A policy, its filter as a function, and whether its scope leaves anyone out."""
_EVERYONE = Scope()


def _predicate(policy: Policy) -> Callable[[Activity, Enrichment | None], bool]:
    """The policy's filter as one function (the compiled filter itself when it has one)."""
    if isinstance(policy.filter, SharedFilter):
        return policy.filter.predicate
    return policy.matches


def _time_of(pair: tuple[Observed, object]) -> int:
    return pair[0].t


def _us(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * _US + span.microseconds


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, each once, in order of appearance."""
    return tuple(dict.fromkeys(v for v in values if v))


def _densest(entries: list[Entry], t: int, tf: int, distinct: bool) -> tuple[int, int, int]:
    """The span [s, s + tf] containing ``t`` with the most matches (or distinct values):
    (first index, end index, count). Ties go to the earliest span."""
    times = [e[0] for e in entries]

    def count(lo: int, hi: int) -> int:
        return len({e[4] for e in entries[lo:hi]}) if distinct else hi - lo

    if times[-1] == t:  # in order: the span ending at t is the densest containing it
        lo = bisect_left(times, t - tf)
        return lo, len(entries), count(lo, len(entries))
    best = (0, 0, 0)
    for lo in range(bisect_left(times, t - tf), bisect_right(times, t)):
        hi = bisect_right(times, times[lo] + tf)
        n = count(lo, hi)
        if n > best[2]:
            best = (lo, hi, n)
    return best


def _describe(item: Observed) -> str:
    """One activity in plain words: who did what to what, from where, when."""
    a = item.activity
    who = _actor(a) or "an unknown actor"
    what = a.action or a.activity_type
    target = next(
        (t.alternate_id or t.name or t.id for t in a.targets if t.type != "AppUser"), None
    )
    parts = [f"{who}: {what} ({a.activity_type})"]
    if target and target != "unknown" and target.casefold() != who:
        parts.append(f"on {target}")
    if a.src_ip:
        where = a.src_ip
        place = a.geo.country if a.geo is not None else None
        if place:
            where += f" ({place})"
        if item.ip_tags:
            where += f" [{', '.join(sorted(item.ip_tags))}]"
        parts.append(f"from {where}")
    parts.append(f"in {a.app} at {a.time:%Y-%m-%d %H:%M:%S} UTC")
    return " ".join(parts)
