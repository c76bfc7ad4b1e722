"""Labelled scenarios: planned deterministically, injected into both emulators, served
like generated records, normalizable, and listed in the ground truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.sandbox.o365_conftest_helpers import signing_key

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.okta import generate_rsa_keypair
from opencasb.sandbox.okta.generate import generate_events
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.org import build_org
from opencasb.sandbox.scenarios import (
    ScenarioPlan,
    plan_scenarios,
    sandbox_plan,
    write_ground_truth,
)

ANCHOR = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)  # a Tuesday
SEED, SIZE, DAYS = 7, 120, 8
ATTACKS = {
    "impossible_travel": "impossible_travel",
    "infrequent_country": "infrequent_country",
    "tor_sign_in": "anonymous_proxy",
    "brute_force": "brute_force",
    "password_spray": "password_spray",
    "mfa_fatigue": "mfa_fatigue",
    "mass_download": "mass_download",
    "mass_delete": "mass_deletion",
    "ransomware_rename": "ransomware",
    "inbox_rule_forward_delete": "malicious_inbox_rule",
    "mailbox_forwarding_external": "external_forwarding",
    "super_admin_grant": "privilege_escalation",
    "api_token_created": "api_token_created",
    "mfa_factor_reset": "mfa_reset",
    "disabled_user_activity": "activity_after_disable",
    "okta_o365_cross_country": "cross_app_impossible_travel",
    "risky_oauth_consent": "risky_oauth_consent",
}
BENIGN = {"benign_real_travel", "benign_vpn_egress", "benign_admin_bulk_export"}


@pytest.fixture(scope="module")
def plan() -> ScenarioPlan:
    got = sandbox_plan(SEED, SIZE, ANCHOR, DAYS)
    assert got is not None
    return got


@pytest.fixture(scope="module")
def okta(plan: ScenarioPlan) -> OktaSandbox:
    return build_okta_sandbox(
        seed=SEED, size=SIZE, days=DAYS, clock=FakeClock(ANCHOR), anchor=ANCHOR,
        oauth_key_pem=generate_rsa_keypair(), scenarios=plan,
    )  # fmt: skip


@pytest.fixture(scope="module")
def o365(plan: ScenarioPlan) -> O365Sandbox:
    return build_o365_sandbox(
        seed=SEED, size=SIZE, days=DAYS, clock=FakeClock(ANCHOR), anchor=ANCHOR,
        signing_key=signing_key(), scenarios=plan,
    )  # fmt: skip


def _okta_served(sb: OktaSandbox) -> list[dict[str, Any]]:
    return [orjson.loads(b) for b in sb.state.log.iter_blobs()]


def _o365_served(sb: O365Sandbox) -> list[dict[str, Any]]:
    return [orjson.loads(r) for b in sb.state.blobs.all_blobs() for r in b.records]


def test_every_scenario_is_planned(plan: ScenarioPlan) -> None:
    by_name = {t.scenario: t for t in plan.truth}
    assert set(by_name) == set(ATTACKS) | BENIGN
    for name, detection in ATTACKS.items():
        assert by_name[name].kind == "attack"
        assert by_name[name].expected_detection == detection
    for name in BENIGN:
        assert by_name[name].kind == "benign"
        assert by_name[name].expected_detection == "none"
    for t in plan.truth:
        assert t.activity_ids and t.victim.endswith("@" + build_org(SEED, SIZE).domain)
        assert plan.start < t.start <= t.end < plan.end
        # not the window's first or last day; working days
        assert t.start.date() > plan.start.date() and t.end.date() < plan.end.date()
    starts = [t.start for t in plan.truth]
    assert starts == sorted(starts)


def test_scenarios_look_like_their_attack(plan: ScenarioPlan) -> None:
    by_name = {t.scenario: t for t in plan.truth}
    okta = {e["uuid"]: e for e, _ in plan.okta_events}
    o365 = {r["Id"]: r for r, _ in plan.o365_records}

    def events(name: str) -> list[dict[str, Any]]:
        return [okta[i] for i in by_name[name].activity_ids if i in okta]

    def records(name: str) -> list[dict[str, Any]]:
        return [o365[i] for i in by_name[name].activity_ids if i in o365]

    tor = events("tor_sign_in")
    assert all(e["securityContext"]["isProxy"] for e in tor)
    assert all(e["client"]["ipAddress"].startswith("185.220.") for e in tor)
    brute = [e for e in events("brute_force") if e["outcome"]["reason"] == "INVALID_CREDENTIALS"]
    assert len(brute) >= 20 and len({e["actor"]["id"] for e in brute}) == 1
    spray = events("password_spray")
    assert len({e["actor"]["id"] for e in spray}) >= 20
    assert len({e["client"]["ipAddress"] for e in spray}) == 1
    fatigue = [e["eventType"] for e in events("mfa_fatigue")]
    assert (
        fatigue.count("user.mfa.okta_verify.deny_push")
        + sum(1 for e in events("mfa_fatigue") if e["outcome"]["reason"] == "TIMEOUT")
        >= 8
    )
    assert fatigue[-1] in ("user.session.start", "user.authentication.sso")
    grant = [e for e in events("super_admin_grant") if e["eventType"].endswith("privilege.grant")]
    assert grant[0]["debugContext"]["debugData"]["privilegeGranted"] == "Super administrator"
    assert any(e["eventType"] == "system.api_token.create" for e in events("api_token_created"))
    reset = {e["eventType"] for e in events("mfa_factor_reset")}
    assert {"user.mfa.factor.reset_all", "user.mfa.factor.deactivate"} <= reset
    disabled = events("disabled_user_activity")
    assert disabled[0]["eventType"] == "user.lifecycle.suspend"
    # Lifted before the victim's next working day, so that none of the victim's everyday
    # activity falls, unlabelled, inside the suspended stretch.
    assert disabled[-1]["eventType"] == "user.lifecycle.unsuspend"
    suspended, lifted = disabled[0]["published"], disabled[-1]["published"]
    assert all(
        suspended < r["CreationTime"] + "Z" < lifted for r in records("disabled_user_activity")
    )
    assert {r["Operation"] for r in records("mass_download")} >= {"FileDownloaded"}
    assert sum(r["Operation"] == "FileDownloaded" for r in records("mass_download")) >= 50
    assert sum(r["Operation"] == "FileDeleted" for r in records("mass_delete")) >= 50
    renames = [r for r in records("ransomware_rename") if r["Operation"] == "FileRenamed"]
    ext = by_name["ransomware_rename"].details["extension"]
    assert len(renames) >= 50 and all(r["DestinationFileExtension"] == ext for r in renames)
    rule = next(
        r for r in records("inbox_rule_forward_delete") if r["Operation"] == "New-InboxRule"
    )
    names = {p["Name"] for p in rule["Parameters"]}
    assert {"ForwardTo", "DeleteMessage"} <= names
    fwd = next(r for r in records("mailbox_forwarding_external") if r["Operation"] == "Set-Mailbox")
    assert any(p["Name"] == "ForwardingSmtpAddress" for p in fwd["Parameters"])
    consent = next(
        r for r in records("risky_oauth_consent") if r["Operation"] == "Consent to application."
    )
    assert "Mail.ReadWrite" in json.dumps(consent["ModifiedProperties"])
    cross = records("okta_o365_cross_country")
    assert cross[0]["Operation"] == "UserLoggedIn" and events("okta_o365_cross_country")


def test_every_ground_truth_id_is_served(
    plan: ScenarioPlan, okta: OktaSandbox, o365: O365Sandbox
) -> None:
    served = {e["uuid"] for e in _okta_served(okta)} | {r["Id"] for r in _o365_served(o365)}
    for t in plan.truth:
        missing = set(t.activity_ids) - served
        assert not missing, (t.scenario, sorted(missing)[:3])


def test_injected_records_normalize(plan: ScenarioPlan) -> None:
    for event, _ in plan.okta_events:
        a = normalize_okta(event)
        assert a.actor.id and a.outcome
        assert a.src_ip == event["client"]["ipAddress"]
    for record, published in plan.o365_records:
        a = normalize_o365(record)
        assert a.actor.id or a.actor.email
        assert a.outcome
        if record.get("ClientIP"):
            assert a.src_ip
        created = datetime.fromisoformat(record["CreationTime"]).replace(tzinfo=UTC)
        assert timedelta(minutes=30) <= published - created <= timedelta(hours=11)


def test_same_seed_same_bytes_other_seed_other_plan(plan: ScenarioPlan) -> None:
    again = sandbox_plan(SEED, SIZE, ANCHOR, DAYS)
    other = sandbox_plan(SEED + 1, SIZE, ANCHOR, DAYS)
    assert again is not None and other is not None

    def dump(p: ScenarioPlan) -> bytes:
        return orjson.dumps(
            [p.to_json(), [[e, t] for e, t in p.okta_events], [[r, t] for r, t in p.o365_records]]
        )

    assert dump(again) == dump(plan)
    assert dump(other) != dump(plan)
    assert {t.activity_ids for t in other.truth}.isdisjoint({t.activity_ids for t in plan.truth})


def test_ids_do_not_collide_with_generated(plan: ScenarioPlan, o365: O365Sandbox) -> None:
    org = build_org(SEED, SIZE)
    generated = {e["uuid"] for e, _ in generate_events(org, plan.start, plan.end)}
    injected = [e["uuid"] for e, _ in plan.okta_events]
    assert len(set(injected)) == len(injected) and generated.isdisjoint(injected)
    ours = {r["Id"] for r, _ in plan.o365_records}
    gen = [r["Id"] for r, _ in o365.generator.records(plan.start - timedelta(days=1), plan.end)]
    assert ours.isdisjoint(gen)


def test_ground_truth_file(plan: ScenarioPlan, tmp_path: Path) -> None:
    path = write_ground_truth(tmp_path, plan)
    assert path.name == "ground-truth.json"
    doc = json.loads(path.read_text())
    assert doc["seed"] == SEED and doc["size"] == SIZE
    assert set(doc["window"]) == {"start", "end"}
    entries = doc["scenarios"]
    assert [e["start"] for e in entries] == sorted(e["start"] for e in entries)
    assert set(entries[0]) >= {
        "scenario", "kind", "victim", "apps", "activity_ids", "start", "end",
        "expected_detection",
    }  # fmt: skip
    assert write_ground_truth(tmp_path, plan).read_bytes() == path.read_bytes()


def test_short_window() -> None:
    assert sandbox_plan(SEED, SIZE, ANCHOR, 2) is None
    with pytest.raises(ValueError, match="too short"):
        plan_scenarios(build_org(SEED, SIZE), ANCHOR - timedelta(days=2), ANCHOR)
