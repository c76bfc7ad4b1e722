"""The policy engine: single and repeated activity, scope, limits, auto-disable, and a state
that survives JSON and any batch split."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from tests.detect.helpers import T0, act, observe

from opencasb.clock import FakeClock
from opencasb.detect.engine import Observed, PolicyEngine
from opencasb.detect.policy import (
    SINGLE_EPISODE_GAP,
    GroupBy,
    Policy,
    PolicyCategory,
    Repeated,
    Scope,
    Severity,
)
from opencasb.detect.shared import SharedFilter
from opencasb.detect.state import EngineState, partition_key
from opencasb.enrich import Enrichment
from opencasb.filters import parse_filter
from opencasb.model.activity import Activity, Category, Outcome

NOW = FakeClock(T0 + timedelta(hours=1))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILE = Category.FILE


def _policy(pid: str = "p", repeated: Repeated | None = None, **kw: object) -> Policy:
    """A policy whose filter is ``match`` (field: value, or field: [values])."""
    given = kw.pop(
        "match", {"activity_type": ["user.session.start", "UserLoginFailed"], "outcome": "failure"}
    )
    assert isinstance(given, dict)
    flt = parse_filter(
        [{"field": k, "in" if isinstance(v, list) else "equals": v} for k, v in given.items()]
    )
    return Policy(
        id=pid, name=pid.title(), filter=SharedFilter(flt), severity=Severity.MEDIUM,
        category=PolicyCategory.THREAT_DETECTION, repeated=repeated, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


FAILED = Repeated(10, timedelta(minutes=5), label="failed sign-ins")


def _fail(at: float, **kw: object) -> Activity:
    return act(at=at, outcome=Outcome.FAILURE, **kw)  # type: ignore[arg-type]


def test_twelve_failures_in_five_minutes_explain_themselves() -> None:
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW)
    findings, _ = engine.evaluate(observe(*(_fail(i * 20) for i in range(12))), EngineState())
    assert len(findings) == 1
    f = findings[0]
    assert f.activity_ids == tuple(range(1, 12))  # the 11th match is the one over 10
    assert f.entity == "ana@example.com" and f.entity_kind == "user"
    assert f.explanation == (
        "11 failed sign-ins by ana@example.com in 3 min 20 s from 203.0.113.9, threshold 10 "
        "in 5 minutes"
    )
    assert (f.first, f.last) == (T0, T0 + timedelta(seconds=200))
    assert not f.historical and f.detected_at == NOW.now()


def test_ten_failures_or_a_slow_trickle_stay_quiet() -> None:
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW)
    assert engine.evaluate(observe(*(_fail(i) for i in range(10))), EngineState())[0] == []
    slow = observe(*(_fail(i * 31) for i in range(40)))  # 10 per 5 min at most
    assert engine.evaluate(slow, EngineState())[0] == []


def test_groups_are_per_user_per_app_unless_across_apps() -> None:
    ana_okta = [_fail(i, app="okta") for i in range(6)]
    ana_o365 = [_fail(10 + i, app="office365", actor_id="x") for i in range(6)]
    bob = [_fail(20 + i, email="bob@example.com") for i in range(6)]
    items = observe(*ana_okta, *ana_o365, *bob)
    per_app = PolicyEngine([_policy(repeated=FAILED)], clock=NOW)
    assert per_app.evaluate(items, EngineState())[0] == []
    across = dataclasses.replace(FAILED, group_by=GroupBy.USER_ACROSS_APPS)
    found, _ = PolicyEngine([_policy(repeated=across)], clock=NOW).evaluate(items, EngineState())
    assert len(found) == 1 and found[0].apps == ("okta", "office365")


def test_distinct_values_by_source_address_is_a_spray() -> None:
    spray = Repeated(
        10, timedelta(minutes=10), GroupBy.SOURCE_IP, distinct="actor.email", label="accounts"
    )
    engine = PolicyEngine([_policy(repeated=spray)], clock=NOW)
    same_user = observe(*(_fail(i) for i in range(30)))
    assert engine.evaluate(same_user, EngineState())[0] == []
    users = observe(*(_fail(i, email=f"u{i}@example.com") for i in range(11)))
    (f,), _ = engine.evaluate(users, EngineState())
    assert (f.entity_kind, f.entity, f.count) == ("ip", "203.0.113.9", 11)
    assert f.explanation.startswith("11 accounts (11 activities) in 10 s from 203.0.113.9")


def test_scope_users_groups_and_ip_tags() -> None:
    class Dir:
        def groups_of(self, activity: Activity) -> frozenset[str]:
            bob = (activity.actor.email or "").casefold() == "bob@example.com"
            return frozenset({"admins"}) if bob else frozenset()

    def run(scope: Scope, tags: frozenset[str] = frozenset()) -> list[str]:
        pol = _policy(match={"app": "okta"}, scope=scope)
        e = Enrichment(ip_tags=tuple(sorted(tags)))
        items = [
            Observed(1, act(email="ana@example.com"), e),
            Observed(2, act(email="BOB@example.com", at=1), e),
        ]
        found, _ = PolicyEngine([pol], clock=NOW, directory=Dir()).evaluate(items, EngineState())
        return [f.entity for f in found]

    both = ["ana@example.com", "bob@example.com"]
    assert run(Scope()) == both
    assert run(Scope(include_users=frozenset({"bob@example.com"}))) == ["bob@example.com"]
    assert run(Scope(exclude_users=frozenset({"ana"}))) == ["bob@example.com"]  # by actor id
    assert run(Scope(include_groups=frozenset({"admins"}))) == ["bob@example.com"]
    assert run(Scope(exclude_groups=frozenset({"admins"}))) == ["ana@example.com"]
    assert run(Scope(exclude_ip_tags=frozenset({"corporate"})), frozenset({"corporate"})) == []
    assert run(Scope(include_ip_tags=frozenset({"tor"})), frozenset({"tor", "vpn"})) == both
    assert run(Scope(include_ip_tags=frozenset({"tor"}))) == []


def test_daily_alert_limit_counts_and_resets_next_day() -> None:
    pol = _policy(match={"app": "okta"}, daily_alert_limit=3)
    engine = PolicyEngine([pol], clock=NOW)
    # five users: each finding is an episode of its own (one user's would be one)
    day1 = observe(*(act(at=i, email=f"u{i}@example.com") for i in range(5)))
    day2 = observe(*(act(at=86_400 + i, email=f"u{i}@example.com") for i in range(2)), first_id=10)
    found, st = engine.evaluate([*day1, *day2], EngineState())
    assert [f.activity_ids for f in found] == [(1,), (2,), (3,), (10,), (11,)]
    assert st.counters["p"].findings_day == 2 and st.counters["p"].suppressed_day == 0
    _, st1 = engine.evaluate(day1, EngineState())
    assert st1.counters["p"].suppressed_day == 2


def test_single_activity_findings_of_one_user_within_the_gap_are_one_episode() -> None:
    """Three matches of one user an hour or less apart extend one alert (continuations,
    not counted against the daily limit); a match after a longer quiet starts another; each
    user has episodes of their own."""
    gap = int(SINGLE_EPISODE_GAP.total_seconds())
    pol = _policy(match={"app": "okta"}, daily_alert_limit=2)
    engine = PolicyEngine([pol], clock=NOW)
    items = observe(
        act(at=0),
        act(at=600),
        act(at=600 + gap),  # exactly the gap after the last: still the same episode
        act(at=601, email="eve@example.com"),
        act(at=3 * gap),  # quiet for longer than the gap: a new episode, over the limit
    )
    found, st = engine.evaluate(items, EngineState())
    assert [(f.activity_ids, f.continues) for f in found] == [
        ((1,), False),
        ((2,), True),
        ((4,), False),
        ((3,), True),
    ]
    assert len({found[0].episode, found[1].episode, found[3].episode}) == 1
    assert found[2].episode != found[0].episode
    assert st.counters["p"].suppressed_day == 1  # the fifth: a new episode beyond 2 a day
    # a suppressed finding leaves no episode: the user's next match is not a continuation
    # of an alert never raised (it is a new episode, suppressed in turn)
    later, st2 = engine.evaluate(observe(act(at=3 * gap + 60), first_id=9), st)
    assert later == [] and st2.counters["p"].suppressed_day == 2
    # a late match of a later batch within the gap of a raised episode continues it ...
    late = observe(act(at=600 + gap + 1_800), first_id=30)
    (cont,), st3 = engine.evaluate(late, st2)
    assert cont.continues and cont.episode == found[0].episode
    # ... and episodes quiet for longer than the gap are pruned
    _, st4 = engine.evaluate(observe(act(at=30 * gap, email="x@example.com"), first_id=40), st3)
    assert list(st4.episodes["p"]) == ["okta\nx@example.com"]


def test_a_policy_matching_absurdly_often_is_disabled_with_a_reason() -> None:
    pol = _policy(match={"app": "okta"}, daily_alert_limit=1_000)
    quiet = _policy("q", match={"app": "office365"})
    engine = PolicyEngine([pol, quiet], clock=NOW, max_matches_per_day=5, max_matches_per_block=100)
    items = observe(*(act(at=i) for i in range(8)), act(app="office365", at=9))
    found, st = engine.evaluate(items, EngineState())
    assert [f.policy_id for f in found] == ["p"] * 5 + ["q"]
    reason = st.disabled["p"].reason
    assert "more than 5 activities on 2026-10-20 (UTC)" in reason and "narrow" in reason
    assert "q" not in st.disabled
    assert engine.evaluate(observe(act(at=99)), st)[0] == []  # stays off
    again = engine.reset_policy(st, "p")
    assert engine.evaluate(observe(act(at=99)), again)[0] != []
    assert "p" in st.disabled  # reset_policy copies


def test_three_hour_block_limit() -> None:
    pol = _policy(match={"app": "okta"})
    engine = PolicyEngine([pol], clock=NOW, max_matches_per_day=100, max_matches_per_block=3)
    _, st = engine.evaluate(observe(*(act(at=i) for i in range(4))), EngineState())
    assert "between 09:00 and 12:00 UTC on 2026-10-20" in st.disabled["p"].reason


def _burst() -> list[Observed]:
    rows = [_fail(i * 7) for i in range(40)]
    rows += [_fail(400 + i, email=f"u{i % 3}@example.com") for i in range(30)]
    rows += [act(at=500 + i) for i in range(5)]
    return observe(*rows)


POLICIES = [
    _policy("fail", repeated=FAILED),
    _policy("single", match={"outcome": "success"}, daily_alert_limit=2),
    _policy("spray", repeated=Repeated(2, timedelta(minutes=1), GroupBy.SOURCE_IP, "actor.email")),
]


def test_any_batch_split_through_json_gives_the_same_findings() -> None:
    engine = PolicyEngine(POLICIES, clock=NOW)
    items = _burst()
    whole, end = engine.evaluate(items, EngineState())
    assert len(whole) > 5
    for cut in (1, 13, 40, 41, 69, len(items) - 1):
        first, st = engine.evaluate(items[:cut], EngineState())
        st = EngineState.from_json(st.to_json())
        rest, st2 = engine.evaluate(items[cut:], st)
        assert first + rest == whole, cut
        assert st2.to_json() == end.to_json()


def test_evaluate_leaves_its_input_state_alone_and_is_deterministic() -> None:
    engine = PolicyEngine(POLICIES, clock=NOW)
    items = _burst()
    _, st = engine.evaluate(items[:30], EngineState())
    before = st.to_json()
    a = engine.evaluate(items[30:], st)
    b = engine.evaluate(items[30:], st)
    assert st.to_json() == before
    assert a[0] == b[0] and a[1].to_json() == b[1].to_json()


def test_continuing_attack_is_one_episode() -> None:
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW)
    found, _ = engine.evaluate(observe(*(_fail(i * 5) for i in range(40))), EngineState())
    assert len(found) == 3
    assert len({f.episode for f in found}) == 1
    assert [f.continues for f in found] == [False, True, True]
    found, st = engine.evaluate(observe(*(_fail(i * 5) for i in range(40))), EngineState())
    an_hour_later = observe(*(_fail(3600 + i) for i in range(11)), first_id=100)
    (later,), _ = engine.evaluate(an_hour_later, st)
    assert later.episode != found[0].episode and not later.continues


def test_late_activity_meets_its_neighbours_in_event_time() -> None:
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW)
    on_time = [_fail(i * 10) for i in range(10)]  # 0..90 s
    _, st = engine.evaluate(observe(*on_time, act(at=1000)), EngineState())
    late = observe(_fail(45), first_id=50)  # published late, belongs in the middle
    (f,), _ = engine.evaluate(late, st)
    assert set(f.activity_ids) == {*range(1, 11), 50}


def test_too_late_for_the_lateness_allowance_is_not_counted_with_pruned_neighbours() -> None:
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW, lateness=timedelta(minutes=1))
    _, st = engine.evaluate(
        observe(*(_fail(i * 10) for i in range(10)), act(at=3000)), EngineState()
    )
    assert st.windows == {}  # pruned: watermark 3000 s, window 5 min + 1 min
    assert engine.evaluate(observe(_fail(45), first_id=50), st)[0] == []


def test_an_activity_no_policy_can_match_still_moves_the_watermark() -> None:
    # the engine evaluates only the activities some policy could match (by type); the
    # newest of the batch is a file access, which none can, and still prunes the window
    engine = PolicyEngine([_policy(repeated=FAILED)], clock=NOW, lateness=timedelta(minutes=1))
    batch = [*(_fail(i * 10) for i in range(10)), act("FileAccessed", at=3000, category=FILE)]
    _, st = engine.evaluate(observe(*batch), EngineState())
    assert st.watermark == (T0 - EPOCH + timedelta(seconds=3000)) // timedelta(microseconds=1)
    assert st.windows == {}
    assert engine.evaluate(observe(_fail(45), first_id=50), st)[0] == []


def test_old_findings_are_historical() -> None:
    engine = PolicyEngine([_policy(match={"app": "okta"})], clock=FakeClock(T0 + timedelta(days=3)))
    (f,), _ = engine.evaluate(observe(act()), EngineState())
    assert f.historical


def test_state_of_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        EngineState.from_json(b'{"version": 99}')
    assert EngineState.from_json(None) == EngineState()


def test_filter_and_a_match_of_earlier_versions_must_both_hold() -> None:
    """A policy of an earlier version with filter: and match: loads, match: read as the
    filter language (ignoring case, as it did), ANDed with the filter."""
    from opencasb.detect.policy_file import read_policies

    (pol,) = read_policies(
        """
id: tor-failures
name: Failures through Tor
severity: high
category: threat_detection
filter: {all: [{field: ip_tags, in: [tor]}, {field: outcome, equals: failure}]}
match: {details.param.Mode: strict}
"""
    )
    engine = PolicyEngine([pol], clock=NOW)
    hit = _fail(0, details={"param.Mode": "Strict"})
    items = [
        *observe(hit, tags=frozenset({"tor"})),
        *observe(hit, first_id=2),  # not through Tor: the filter fails
        *observe(_fail(1), first_id=3, tags=frozenset({"tor"})),  # the match fails
        Observed(4, hit),  # not enriched: no tags at all
    ]
    found, _ = engine.evaluate(items, EngineState())
    assert [f.activity_ids for f in found] == [(1,)]
    assert found[0].explanation.endswith("[tor] in okta at 2026-10-20 09:00:00 UTC")


def test_every_window_and_episode_is_keyed_by_its_partition() -> None:
    """Per user (in one app or across apps) or per source address: each group key names
    the partition that owns it, so the state can be split by user."""
    policies = [
        _policy("per-app", dataclasses.replace(FAILED, threshold=2)),
        _policy(
            "across", dataclasses.replace(FAILED, threshold=2, group_by=GroupBy.USER_ACROSS_APPS)
        ),
        _policy("by-ip", dataclasses.replace(FAILED, threshold=2, group_by=GroupBy.SOURCE_IP)),
    ]
    acts = [
        _fail(i, email=user, ip=ip, app=app, event_id=f"{user}-{app}-{i}")
        for i in range(4)
        for user, ip in (("ana@example.com", "203.0.113.1"), ("bob@example.com", "203.0.113.2"))
        for app in ("okta", "office365")
    ]
    findings, state = PolicyEngine(policies, clock=NOW).evaluate(observe(*acts), EngineState())
    assert findings
    users = {"ana@example.com", "bob@example.com"}
    for table in (state.windows, state.episodes):
        assert {partition_key(k) for k in table["per-app"]} == users
        assert {partition_key(k) for k in table["across"]} == users
        assert {partition_key(k) for k in table["by-ip"]} == {"203.0.113.1", "203.0.113.2"}
    assert len(state.windows["per-app"]) == 4  # one group per user and app, two partitions
