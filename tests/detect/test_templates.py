"""The shipped templates: they load, name real activity types, and each one catches the
sandbox's labelled attack of its kind (ground truth) and stays quiet on everyday activity."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.detect.helpers import act, observe
from tests.sandbox.served import served

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.office365.operations import OPERATIONS
from opencasb.apps.okta.event_types import EVENT_TYPES
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.clock import FakeClock
from opencasb.detect.engine import Finding, Observed, PolicyEngine
from opencasb.detect.policy import Policy, Scope
from opencasb.detect.state import EngineState
from opencasb.detect.templates import load_templates, template
from opencasb.enrich import Enrichment, IpTagMatcher, load_ip_ranges, parse_ip
from opencasb.errors import NotFound
from opencasb.model.activity import Activity, Category, Target
from opencasb.sandbox.scenarios import ScenarioPlan, sandbox_plan

ANCHOR = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
SEED, SIZE, DAYS = 7, 120, 8

# template -> the labelled attacks (ground-truth scenario names) it must catch
CATCHES = {
    "risky-ip-sign-in": {"tor_sign_in"},
    "failed-sign-ins": {"brute_force"},
    "admin-activity-non-corporate-ip": {"super_admin_grant", "api_token_created"},
    "potential-ransomware": {"ransomware_rename"},
    "mass-deletion": {"mass_delete"},
    "mfa-disabled-or-reset": {"mfa_factor_reset"},
    "api-token-created": {"api_token_created"},
    "new-super-admin": {"super_admin_grant"},
    "external-mail-forwarding": {"mailbox_forwarding_external", "inbox_rule_forward_delete"},
    "password-spray": {"password_spray"},
    "mfa-push-bombing": {"mfa_fatigue"},
    "suspicious-inbox-rule": {"inbox_rule_forward_delete"},
    "risky-oauth-consent": {"risky_oauth_consent"},
}
# Templates that match everyday activity by their very definition (an admin working from
# home, a help-desk factor reset, an anyone-link, a token an admin makes): not noise.
BROAD = {
    "admin-activity-non-corporate-ip",
    "mfa-disabled-or-reset",
    "anonymous-link-created",
    "api-token-created",
}
# Vendor names the normalizers classify by family rather than by an exact entry.
KNOWN_ELSEWHERE = {
    "system.log_stream.lifecycle.deactivate",  # Okta's log streams, family "system"
    "system.log_stream.lifecycle.delete",
    "Disable Strong Authentication.",  # Azure AD directory sentence, classified by keyword
}


def _enabled(policies: list[Policy]) -> list[Policy]:
    return [dataclasses.replace(p, enabled=True) for p in policies]


def _tags() -> IpTagMatcher:
    from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path

    return IpTagMatcher([r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))])


def _observe(activities: list[Activity]) -> list[Observed]:
    tags = _tags()
    ordered = sorted(activities, key=lambda a: (a.time, a.source_event_id))
    return [
        Observed(i, a, Enrichment(ip_tags=tuple(sorted(tags.tags(parse_ip(a.src_ip))))))
        if a.src_ip
        else Observed(i, a)
        for i, a in enumerate(ordered)
    ]


def _run(policies: list[Policy], items: list[Observed]) -> list[Finding]:
    engine = PolicyEngine(policies, clock=FakeClock(ANCHOR))
    findings, state = [], EngineState()
    for start in range(0, len(items), 500):  # batches, as a stage runner reads them
        found, state = engine.evaluate(items[start : start + 500], state)
        findings += found
    return findings


@pytest.fixture(scope="module")
def plan() -> ScenarioPlan:
    got = sandbox_plan(SEED, SIZE, ANCHOR, DAYS)
    assert got is not None
    return got


def test_every_template_loads_disabled_and_labelled() -> None:
    templates = load_templates()
    assert len(templates) >= 15
    for p in templates:
        assert not p.enabled and p.template == p.id
        assert p.tactic is not None and p.technique is not None and p.description
    assert template("mass-download").repeated is not None
    with pytest.raises(NotFound):
        template("nope")


def _activity_types(data: Any) -> Iterator[str]:
    """The activity types a filter (filter language) or match (conditions) document names."""
    if isinstance(data, dict):
        if data.get("field") == "activity_type":
            value = data.get("in", data.get("equals"))
            yield from value if isinstance(value, list) else [value]
            return
        for key, value in data.items():
            if key == "activity_type":
                yield from value if isinstance(value, list) else [value]
            else:
                yield from _activity_types(value)
    elif isinstance(data, list):
        for item in data:
            yield from _activity_types(item)


def test_templates_name_the_activity_types_the_normalizers_produce() -> None:
    named = {
        t
        for p in load_templates()
        for part in (p.filter,)
        if part is not None
        for t in _activity_types(part.to_data())
    }
    assert len(named) > 40
    unknown = named - set(EVENT_TYPES) - set(OPERATIONS) - KNOWN_ELSEWHERE
    assert unknown == set()


def test_each_template_catches_its_labelled_attacks(plan: ScenarioPlan) -> None:
    acts = [normalize_okta(e) for e, _ in plan.okta_events]
    acts += list(
        {a.source_event_id: a for a in (normalize_o365(r) for r, _ in plan.o365_records)}.values()
    )
    items = _observe(acts)
    truth = {t.scenario: t for t in plan.truth}
    templates = {p.id: p for p in _enabled(load_templates())}
    for tid, scenarios in CATCHES.items():
        found = _run([templates[tid]], items)
        for name in scenarios:
            ids = set(truth[name].activity_ids)
            hits = [
                f for f in found
                if {items[i].activity.source_event_id for i in f.activity_ids} <= ids
            ]  # fmt: skip
            assert hits, f"{tid} missed {name}"


def test_templates_without_a_scenario_match_their_example() -> None:
    templates = {p.id: p for p in _enabled(load_templates())}
    downloads = [act("FileDownloaded", app="office365", at=i) for i in range(51)]
    examples: dict[str, list[Activity]] = {
        "mass-download": downloads,
        "external-user-added": [
            act(
                "Add user.",
                app="office365",
                category=Category.USER_MANAGEMENT,
                targets=(Target(id="bo_partner.example#EXT#@globex.onmicrosoft.com"),),
            )
        ],
        "impersonation-started": [act("user.session.impersonation.initiate")],
        "audit-logging-disabled": [
            act(
                "Set-AdminAuditLogConfig",
                app="office365",
                details={"param.UnifiedAuditLogIngestionEnabled": "False"},
            )
        ],
        "anonymous-link-created": [act("AnonymousLinkCreated", app="office365")],
        "break-glass-account-used": [act(email="BreakGlass@example.com")],
    }
    glass = templates["break-glass-account-used"]
    templates["break-glass-account-used"] = dataclasses.replace(
        glass, scope=Scope(include_users=frozenset({"breakglass@example.com"}))
    )
    assert set(examples) | set(CATCHES) == set(templates)
    for tid, activities in examples.items():
        assert _run([templates[tid]], observe(*activities)), tid
        if tid == "mass-download":  # 50 is not more than 50
            assert _run([templates[tid]], observe(*activities[:-1])) == []  # 50 is not more than 50


@pytest.fixture(scope="module")
def everyday(plan: ScenarioPlan) -> list[Activity]:
    """All 8 days the sandbox serves, everyday activity and scenarios together (~6 s)."""
    got = served(SEED, SIZE, ANCHOR, DAYS, plan)
    return got.okta + got.o365


def test_templates_stay_quiet_on_everyday_activity(
    plan: ScenarioPlan, everyday: list[Activity]
) -> None:
    items = _observe(everyday)
    attack_ids = {i for t in plan.truth if t.kind == "attack" for i in t.activity_ids}
    quiet = [p for p in _enabled(load_templates()) if p.id not in BROAD]
    unexplained = [
        (f.policy_id, f.explanation)
        for f in _run(quiet, items)
        if not {items[i].activity.source_event_id for i in f.activity_ids} <= attack_ids
    ]
    assert unexplained == []
    caught = {f.policy_id for f in _run(quiet, items)}
    assert caught == set(CATCHES) - BROAD


def test_risky_ip_sign_in_trusts_okta_proxy_verdict_without_tags() -> None:
    (pol,) = _enabled([template("risky-ip-sign-in")])
    proxied = act(raw={"securityContext": {"isProxy": True}})
    plain = act(raw={"securityContext": {"isProxy": False}}, at=1)
    found = _run([pol], [Observed(1, proxied), Observed(2, plain)])
    assert [f.activity_ids for f in found] == [(1,)]
    tagged = _run([pol], observe(plain, tags=frozenset({"threat_intel"})))
    assert len(tagged) == 1
