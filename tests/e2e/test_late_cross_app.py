"""A late-arriving Office 365 sign-in that makes an impossible-travel pair with an earlier
Okta sign-in raises the cross-app alert (issue 12's acceptance), end to end: `opencasb sync`
in child processes against both emulators over real HTTPS.

One person signs in to Okta at home, then ten minutes later (in event time) to Office 365
from the farthest country nobody in the organisation lives in. The Okta sign-in is in the
System Log from the start; the Office 365 record is held back and published only after a
first sync has ingested the Okta one and the detection stage has moved past it, hours after
the event, as the Management Activity API publishes some records (research §2.6).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.apps import alerts, anchor, connect, serve_org, source_ids, stage_cursor, sync

from opencasb.sandbox.office365 import gen_aad as aad
from opencasb.sandbox.org import build_org
from opencasb.sandbox.scenarios import ScenarioPlan
from opencasb.sandbox.scenarios.kit import Kit, Recorder, foreign_loc
from opencasb.sandbox.tls import SandboxTLS, ensure_sandbox_tls

pytestmark = pytest.mark.e2e

SEED, SIZE = 31, 50
TRAVEL = "anomaly.impossible_travel"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return ensure_sandbox_tls(tmp_path_factory.mktemp("tls"))


def _pair(end: datetime) -> tuple[ScenarioPlan, dict[str, Any], dict[str, str]]:
    """The Okta sign-in (as a one-scenario plan for the Okta emulator), the Office 365
    sign-in record held back, and what the test knows about them."""
    org = build_org(SEED, SIZE)
    start = end - timedelta(days=9)
    kit = Kit(org, start, end, SEED)
    rec = Recorder(kit, "late_cross_app_travel", "attack", TRAVEL)
    v = kit.victim(rec.rng)
    city = v.okta.person.city
    okta_ms = int((end - timedelta(hours=3)).timestamp() * 1000)
    t = rec.sign_in(okta_ms, rec.okta_sess(v, v.okta.home), False)
    far = kit.farthest(city.lat, city.lon, exclude=city.country)
    sess = rec.o365_sess(v, foreign_loc(far, rec.bits()).ip, device=1)
    rec.o365(t // 1000 + 600, aad.SIGN_IN, sess, (0, 0))
    injection = rec.finish(v.email)
    (record, _), *_ = injection.o365  # the service may publish it twice; one is enough
    injection.o365 = []
    plan = ScenarioPlan(SEED, SIZE, start, end, [injection])
    session = next(e for e, _ in injection.okta if e["eventType"] == "user.session.start")
    facts = {
        "email": v.email,
        "okta_uuid": session["uuid"],
        "o365_id": record["Id"],
        "home": city.name,
        "home_country": city.country,
        "far_country": far.country,
    }
    return plan, record, facts


def test_late_office365_sign_in_raises_the_cross_app_travel_alert(
    tls: SandboxTLS, tmp_path: Path
) -> None:
    end = anchor()
    plan, record, facts = _pair(end)
    with serve_org(
        tls, seed=SEED, size=SIZE, okta_days=9, o365_days=2, end=end, scenarios=plan
    ) as org:
        env = connect(tmp_path, org)
        sync(env)
        rows = {sid: row for row, (_, sid) in source_ids(tmp_path).items()}
        assert facts["okta_uuid"] in rows and facts["o365_id"] not in rows
        before = stage_cursor(tmp_path)
        # detection has judged the Okta sign-in and everything stored after it
        assert before == max(rows.values()) >= rows[facts["okta_uuid"]]
        early = [a for a in alerts(tmp_path) if a.entity == facts["email"]]
        assert not [a for a in early if a.policy_id == TRAVEL], early

        # Hours after the event, the record is published: a new blob, listable from now.
        created = datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)
        published = org.o365.state.append_record(record, org.o365.state.clock.now())
        assert all(p - created > timedelta(hours=2) for p in published)
        sync(env)

    ids = source_ids(tmp_path)
    assert facts["o365_id"] in {sid for _, sid in ids.values()}
    assert stage_cursor(tmp_path) > before
    mine = [a for a in alerts(tmp_path) if a.policy_id == TRAVEL and a.entity == facts["email"]]
    assert len(mine) == 1, mine
    alert = mine[0]
    # the evidence is both sign-ins, both in the store
    assert set(alert.evidence) == {facts["okta_uuid"], facts["o365_id"]}
    assert {ids[i][0] for i in alert.evidence_rows} == {"okta", "office365"}
    text = alert.explanation
    assert facts["home"] in text and facts["home_country"] in text, text
    assert facts["far_country"] in text, text
    assert "okta" in text.lower() and "office 365" in text.lower(), text
    speed = re.search(r"([\d,]+) km at ([\d,]+) km/h", text)
    assert speed is not None, text
    assert int(speed.group(1).replace(",", "")) > 5_000, text  # continents apart
    assert int(speed.group(2).replace(",", "")) > 10_000, text  # in ten minutes
