"""A sign-in that reaches the detectors days late (one app's backfill stored before the
other's) still meets the sign-ins around it through the user's stays."""

from __future__ import annotations

from tests.detect.anomaly.helpers import DAY, HOUR, history, ids, o365, okta, run, where

from opencasb.detect.anomaly import AnomalyState

IT = "anomaly.impossible_travel"
LATER = 8 * DAY + 2 * HOUR


def _okta_days() -> list:  # type: ignore[type-arg]
    """Ana's Okta sign-ins in Paris: a week of history, then three more days, one a day."""
    return [*history(), *((okta(LATER + d * DAY), where("Paris")) for d in range(3))]


def test_office365_sign_in_stored_days_after_the_okta_ones_is_impossible_travel() -> None:
    base = _okta_days()
    late = (o365(LATER + 10 * 60), where("Lagos"))  # 10 min after the first of the three
    _, state = run(base)  # evaluated first, as a backfill stores them
    again, _ = run([late], state=AnomalyState.from_json(state.to_json()))
    (f,) = [f for f in again if f.policy_id == IT]
    assert f.activity_ids == (len(history()) + 1, 1)  # the Okta sign-in, the late one
    assert "Lagos, NG (Office 365) 10 min after Paris, FR (Okta)" in f.explanation


def test_a_late_sign_in_within_a_stay_is_compared_with_its_ends_never_faster() -> None:
    # two sign-ins the same day, 8 h apart, in Paris; a late one from Lagos between them
    # cannot be shown faster than the nearer end allows: 4,700 km in 4 h is 1,175 km/h
    base = [*history(), (okta(LATER), where("Paris")), (okta(LATER + 8 * HOUR), where("Paris")),
            *((okta(LATER + d * DAY), where("Paris")) for d in (2, 3))]  # fmt: skip
    _, state = run(base)
    found, _ = run([(o365(LATER + 4 * HOUR), where("Lagos"))], state=state)
    (f,) = [f for f in found if f.policy_id == IT]
    assert " 4 h " in f.explanation
    # 6 h from either end (4,700 km at 780 km/h) is a possible flight: nothing
    base[-3] = (okta(LATER + 12 * HOUR), where("Paris"))
    _, state = run(base)
    assert ids(run([(o365(LATER + 6 * HOUR), where("Lagos"))], state=state)[0], IT) == []
