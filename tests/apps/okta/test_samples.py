"""Every real, third-party Okta record in ``shared/samples/okta`` normalizes, completely.

The samples live beside the repository (never copied into it); the tests skip without them.
Each check reads the record's own raw fields and asserts the normalized field is set wherever
the raw one is present and non-empty, so a new sample file is covered without new code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.apps.mangle import SAMPLES, labelled_samples

from opencasb.apps.okta.event_types import EVENT_TYPES
from opencasb.apps.okta.normalize import normalize
from opencasb.model import Activity, Outcome

RECORDS = labelled_samples("okta")
pytestmark = pytest.mark.skipif(not RECORDS, reason=f"no Okta samples under {SAMPLES / 'okta'}")


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != "null"


def _section(record: dict[str, Any], *path: str) -> dict[str, Any]:
    node: Any = record
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


@pytest.fixture(params=RECORDS, ids=[name for name, _ in RECORDS])
def pair(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Activity]:
    record: dict[str, Any] = request.param[1]
    return record, normalize(record)


def test_identity_time_and_raw(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    assert activity.app == "okta"
    assert activity.source_event_id == record["uuid"]
    assert activity.raw is record
    assert activity.time.tzinfo is UTC
    published = datetime.fromisoformat(record["published"])
    assert activity.time == published
    assert activity.activity_type == record["eventType"]


def test_event_type_has_an_exact_table_entry(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    assert record["eventType"] in EVENT_TYPES
    assert (activity.category, activity.action) == EVENT_TYPES[record["eventType"]]


def test_actor_is_filled_where_the_record_has_one(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    actor = _section(record, "actor")
    if _present(actor.get("id")):
        assert activity.actor.id == actor["id"]
    if _present(actor.get("displayName")):
        assert activity.actor.name == actor["displayName"]
    if _present(actor.get("type")):
        assert activity.actor.type == actor["type"]
    login = actor.get("alternateId")
    if isinstance(login, str) and "@" in login:
        assert activity.actor.email == login.lower()


def test_outcome_is_filled_where_the_record_has_one(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    outcome = _section(record, "outcome")
    result = outcome.get("result")
    if isinstance(result, str) and result:
        assert activity.outcome_detail == result
        expected = {
            "SUCCESS": "success",
            "ALLOW": "success",
            "FAILURE": "failure",
            "DENY": "failure",
        }
        assert activity.outcome == Outcome(expected.get(result, "unknown"))
    if _present(outcome.get("reason")):
        assert activity.outcome_reason == outcome["reason"]


def test_source_ip_is_filled_where_the_record_has_one(
    pair: tuple[dict[str, Any], Activity],
) -> None:
    record, activity = pair
    client_ip = _section(record, "client").get("ipAddress")
    chain = _section(record, "request").get("ipChain") or []
    if _present(client_ip):
        assert activity.src_ip == client_ip
    elif chain and _present(chain[0].get("ip")):
        assert activity.src_ip == chain[0]["ip"]
    else:
        assert activity.src_ip is None


def test_geo_is_filled_where_the_record_has_one(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    place = _section(record, "client", "geographicalContext")
    if not place:
        chain = _section(record, "request").get("ipChain") or [{}]
        place = chain[0].get("geographicalContext") or {}
    point = place.get("geolocation") or {}
    fields = {
        "country": place.get("country"),
        "region": place.get("state"),
        "city": place.get("city"),
        "lat": point.get("lat"),
        "lon": point.get("lon"),
    }
    if not any(_present(value) for value in fields.values()):
        assert activity.geo is None
        return
    assert activity.geo is not None
    for name, value in fields.items():
        if _present(value):
            assert getattr(activity.geo, name) == value, name
    if _present(fields["country"]):
        assert activity.geo.country_code is not None  # every sample country is in the table


def test_network_agent_and_targets(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    security = _section(record, "securityContext")
    if isinstance(security.get("asNumber"), int):
        assert activity.asn == security["asNumber"]
    if _present(security.get("isp")):
        assert activity.isp == security["isp"]
    agent = _section(record, "client", "userAgent")
    if _present(agent.get("rawUserAgent")):
        assert activity.user_agent == agent["rawUserAgent"]
    targets = record.get("target") or []
    assert len(activity.targets) == len(targets)
    for target, raw_target in zip(activity.targets, targets, strict=True):
        assert target.id == raw_target.get("id")
        assert target.type == raw_target.get("type")
    assert activity.severity == record.get("severity")
    assert activity.description.startswith(record["displayMessage"] or record["eventType"])


def test_details_carry_the_correlation_ids(pair: tuple[dict[str, Any], Activity]) -> None:
    record, activity = pair
    auth = _section(record, "authenticationContext")
    if _present(auth.get("externalSessionId")):
        assert activity.details["auth.external_session_id"] == auth["externalSessionId"]
    transaction = _section(record, "transaction")
    if _present(transaction.get("id")):
        assert activity.details["transaction.id"] == transaction["id"]
    for key, value in _section(record, "debugContext", "debugData").items():
        if value is not None:
            assert f"debug.{key}" in activity.details
    assert all(value is not None for value in activity.details.values())
    assert activity.details.get("client.zone") != "null"
