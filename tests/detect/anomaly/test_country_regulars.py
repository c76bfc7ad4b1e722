"""Infrequent country at medium: a country is the organisation's when a colleague signed in
from it more than once (lives there, travels there), not after someone's one-off sign-in
(an attacker's, on another account)."""

from __future__ import annotations

from tests.detect.anomaly.helpers import DAY, HOUR, history, ids, okta, run, where

from opencasb.detect.anomaly import AnomalySettings, Sensitivity

IC = "anomaly.infrequent_country"
LATER = 8 * DAY + 2 * HOUR
ANA_IN_LAGOS = (okta(LATER + DAY), where("Lagos"))


def test_one_off_sign_in_of_a_colleague_does_not_make_a_country_common() -> None:
    items = [*history(), *history(users=("bo@example.com",)),
             (okta(LATER, "bo@example.com"), where("Lagos")), ANA_IN_LAGOS]  # fmt: skip
    (f,) = [f for f in run(items)[0] if f.policy_id == IC and f.entity == "ana@example.com"]
    assert f.explanation.endswith(
        "1 other user(s) of the organisation signed in from NG, 0 of them more than once"
    )
    low = AnomalySettings(sensitivity=Sensitivity.LOW)  # low: anyone's sign-in will do
    assert [
        f for f in run(items, low)[0] if f.entity == "ana@example.com" and f.policy_id == IC
    ] == []


def test_a_colleague_who_signs_in_from_there_regularly_makes_it_common() -> None:
    bo = [(okta(LATER + k * HOUR, "bo@example.com"), where("Lagos")) for k in range(2)]
    items = [*history(), *history(users=("bo@example.com",)), *bo, ANA_IN_LAGOS]
    assert ids(run(items)[0], IC) == [(len(items) - 2,)]  # Bo's own first visit
