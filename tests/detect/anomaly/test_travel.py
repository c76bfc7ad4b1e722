"""Impossible travel and infrequent country, with their suppressions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.detect.anomaly.helpers import DAY, HOUR, T0, history, ids, o365, okta, run, where

from opencasb.detect.anomaly import AnomalySettings, AnomalyState, Sensitivity
from opencasb.model.activity import Outcome

IT = "anomaly.impossible_travel"
IC = "anomaly.infrequent_country"
LATER = 8 * DAY + 2 * HOUR  # after the 7-day learning period


def test_paris_then_lagos_two_hours_later_is_impossible_travel() -> None:
    base = history()
    items = [*base, (okta(LATER, ip="1"), where("Paris")), (okta(LATER + 2 * HOUR), where("Lagos"))]
    found, _ = run(items)
    (f,) = [f for f in found if f.policy_id == IT]
    assert f.activity_ids == (len(base) + 1, len(base) + 2)
    assert f.explanation.startswith(
        "ana@example.com signed in from Lagos, NG 2 h after Paris, FR: 4,70"
    )
    assert "km/h; this user's usual countries: FR" in f.explanation
    assert f.severity == "high" and f.entity == "ana@example.com"


def test_slow_enough_travel_is_not_impossible() -> None:
    items = [*history(), (okta(LATER), where("Paris")), (okta(LATER + 9 * HOUR), where("Lagos"))]
    assert ids(run(items)[0], IT) == []


def test_nothing_during_the_learning_period_and_backfill_counts() -> None:
    early = [(okta(0), where("Paris")), (okta(2 * HOUR), where("Lagos"))]
    assert ids(run(early)[0], IT) == []
    # the same pair after a week of (backfilled) history alerts
    late = [(okta(LATER), where("Paris")), (okta(LATER + 2 * HOUR), where("Lagos"))]
    assert len(ids(run(history() + late)[0], IT)) == 1
    # and learning counts from the organisation's first event, across batches
    _, state = run(history())
    assert len(ids(run(late, state=state)[0], IT)) == 1


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (where("Brussels"), "neighbouring country"),
        (where("Lyon"), "same country"),
        (where("Lagos", "vpn"), "VPN exit"),
        (where("Lagos", "corporate"), "corporate office"),
    ],
)
def test_suppressions(second: object, why: str) -> None:
    items = [*history(), (okta(LATER), where("Paris")), (okta(LATER + 20 * 60), second)]
    assert ids(run(items)[0], IT) == [], why  # type: ignore[arg-type]


def test_corporate_on_one_side_alerts_at_high_sensitivity() -> None:
    items = [
        *history(),
        (okta(LATER), where("Paris")),
        (okta(LATER + HOUR), where("Lagos", "corporate")),
    ]
    high = AnomalySettings(sensitivity=Sensitivity.HIGH)
    assert len(ids(run(items, high)[0], IT)) == 1


def test_failed_and_non_interactive_sign_ins_do_not_count() -> None:
    fail = okta(LATER + HOUR, outcome=Outcome.FAILURE)
    sso = okta(LATER + HOUR, event="user.authentication.sso")
    for second in (fail, sso):
        items = [*history(), (okta(LATER), where("Paris")), (second, where("Lagos"))]
        assert ids(run(items)[0], IT) == []


def test_coarse_places_widen_the_jitter_radius() -> None:
    # Paris -> Moscow is 2,490 km; in 2 h that is over 1,000 km/h at city precision ...
    items = [*history(), (okta(LATER), where("Paris")), (okta(LATER + 2 * HOUR), where("Moscow"))]
    assert len(ids(run(items)[0], IT)) == 1
    # ... but from a country centroid, 500 km either way is only a guess
    vague = [
        *history(),
        (okta(LATER), where("Paris")),
        (okta(LATER + 2 * HOUR), where("Moscow", coarse=True)),
    ]
    assert ids(run(vague)[0], IT) == []


def test_user_usual_country_suppresses_at_medium_not_high() -> None:
    trips = [(okta(d * DAY + HOUR), where("New York")) for d in range(4)]
    items = [
        *history(),
        *trips,
        (okta(LATER), where("Paris")),
        (okta(LATER + HOUR), where("New York")),
    ]
    assert ids(run(items)[0], IT) == []
    assert len(ids(run(items, AnomalySettings(sensitivity=Sensitivity.HIGH))[0], IT)) == 1


def test_org_common_country_suppresses_at_low_only() -> None:
    others = ("bo@example.com", "cy@example.com", "di@example.com")
    items = [*history(), *history(users=others, city="New York")]
    items += [(okta(LATER), where("Paris")), (okta(LATER + HOUR), where("New York"))]
    assert ids(run(items, AnomalySettings(sensitivity=Sensitivity.LOW))[0], IT) == []
    assert len(ids(run(items)[0], IT)) == 1


def test_okta_and_office365_sign_ins_of_one_person_are_compared() -> None:
    items = [*history(), (okta(LATER), where("Paris")), (o365(LATER + HOUR), where("Sydney"))]
    (f,) = [f for f in run(items)[0] if f.policy_id == IT]
    assert "Sydney, AU (Office 365) 60 min after Paris, FR (Okta)" in f.explanation
    assert set(f.apps) == {"okta", "office365"}


def test_infrequent_country_once_per_country_and_not_for_org_common_ones() -> None:
    items = [*history(), (okta(LATER), where("Lagos")), (okta(LATER + DAY), where("Lagos"))]
    found, state = run(items)
    (f,) = [f for f in found if f.policy_id == IC]
    assert f.activity_ids == (9,)
    assert "Lagos, NG, a country not seen for this user in 8 days" in f.explanation
    assert "usual countries: FR" in f.explanation
    assert state.users["ana@example.com"].countries == {"FR": 8, "NG": 2}
    others = ("bo@example.com", "cy@example.com", "di@example.com")
    common = [*history(), *history(users=others, city="Lagos"), (okta(LATER), where("Lagos"))]
    assert ids(run(common)[0], IC) == []
    assert len(ids(run(common, AnomalySettings(sensitivity=Sensitivity.HIGH))[0], IC)) == 1


def test_infrequent_country_waits_for_the_users_own_learning() -> None:
    newcomer = [
        (okta(LATER - DAY, "ed@example.com"), where("Paris")),
        (okta(LATER, "ed@example.com"), where("Lagos")),
    ]
    assert ids(run([*history(), *newcomer])[0], IC) == []
    short = AnomalySettings(learning=timedelta(hours=12))
    assert len(ids(run([*history(), *newcomer], short)[0], IC)) == 1


def test_state_round_trips_and_evaluate_is_pure() -> None:
    items = [*history(), (okta(LATER), where("Paris")), (okta(LATER + HOUR), where("Lagos"))]
    found, state = run(items)
    text = state.to_json()
    assert AnomalyState.from_json(text) == state
    assert AnomalyState.from_json(text).to_json() == text
    before = AnomalyState.from_json(text)
    run(items[-2:], state=state)
    assert state == before  # unchanged by evaluate
    assert [f.id for f in run(items)[0]] == [f.id for f in found]
    assert len(text) < 2_000


def test_a_late_sign_in_meets_its_neighbours_in_event_time() -> None:
    # Paris at 09:00 and New York at 20:00 (plausible), then an Office 365 record of a Lagos
    # sign-in at 10:00 arrives late, in a later batch: 1 h after Paris is impossible, though
    # 10 h before New York would not be
    _, state = run(
        [*history(), (okta(LATER), where("Paris")), (okta(LATER + 11 * HOUR), where("New York"))]
    )
    found, _ = run([(o365(LATER + HOUR), where("Lagos"))], state=state)
    (f,) = [f for f in found if f.policy_id == IT]
    assert "Lagos, NG (Office 365) 60 min after Paris, FR (Okta)" in f.explanation
    assert f.activity_ids == (9, 1)  # event-time order; ids restart per run (Paris was 9)


def test_evaluate_observed_reads_the_enrichment_the_stage_attaches() -> None:
    from opencasb.clock import FakeClock
    from opencasb.detect.anomaly import AnomalyEngine
    from opencasb.detect.engine import Observed

    items = [*history(), (okta(LATER), where("Paris")), (okta(LATER + 2 * HOUR), where("Lagos"))]
    observed = [Observed(i + 1, a, e) for i, (a, e) in enumerate(items)]
    engine = AnomalyEngine(clock=FakeClock(T0))
    found, _ = engine.evaluate_observed(observed, AnomalyState())
    assert [f.policy_id for f in found] == [IT, IC]
    bare = [Observed(o.id, o.activity) for o in observed]  # not enriched: no place, no finding
    assert engine.evaluate_observed(bare, AnomalyState())[0] == []


def test_back_and_forth_is_one_episode_and_a_later_trip_another() -> None:
    hops = [(okta(LATER + i * 2 * HOUR), where("Lagos" if i % 2 else "Paris")) for i in range(4)]
    later = [
        (okta(LATER + 3 * DAY), where("Paris")),
        (okta(LATER + 3 * DAY + HOUR), where("Lagos")),
    ]
    travel = [f for f in run([*history(), *hops, *later])[0] if f.policy_id == IT]
    assert [f.continues for f in travel] == [False, True, True, False]
    assert len({f.episode for f in travel[:3]}) == 1
    assert travel[0].episode == travel[0].id and travel[3].episode == travel[3].id
