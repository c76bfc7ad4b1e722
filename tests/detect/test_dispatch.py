"""The engine's shortcut never leaves out a policy that matches."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from tests.detect.helpers import act

from opencasb.apps.office365.normalize import normalize as normalize_o365
from opencasb.apps.okta.normalize import normalize as normalize_okta
from opencasb.detect.dispatch import Dispatch, allowed
from opencasb.detect.policy_file import read_policies
from opencasb.detect.templates import load_templates
from opencasb.model.activity import Category
from opencasb.sandbox.scenarios import sandbox_plan

HEAD = "id: p\nname: P\nseverity: low\ncategory: dlp\n"


def _allowed(body: str, field: str = "activity_type") -> frozenset[str] | None:
    (policy,) = read_policies(HEAD + body)
    return allowed(policy, field)


def test_what_a_policy_says_about_its_types() -> None:
    assert _allowed("filter: {field: activity_type, equals: FileDeleted}") == {"filedeleted"}
    both = "filter: {field: activity_type, in: [A, B]}\nmatch: {activity_type: [b, c]}"
    assert _allowed(both) == {"b"}
    either = "filter: {any: [{field: activity_type, equals: A}, {field: app, equals: okta}]}"
    assert _allowed(either) is None  # one branch takes any type
    assert _allowed("filter: {not: {field: activity_type, equals: A}}") is None
    assert _allowed("match: {any: [{activity_type: A}, {activity_type: [B]}]}") == {"a", "b"}
    assert _allowed("filter: {field: category, equals: admin}", "category") == {"admin"}
    assert _allowed("filter: {field: activity_type, starts_with: File}") is None


def test_no_template_is_left_out_for_an_activity_it_matches() -> None:
    plan = sandbox_plan(7, 120, datetime(2026, 10, 27, 12, tzinfo=UTC), 8)
    assert plan is not None
    acts = [normalize_okta(e) for e, _ in plan.okta_events]
    acts += [normalize_o365(r) for r, _ in plan.o365_records]
    acts += [act("system.api_token.create", category=Category.ADMIN), act("FILEDELETED")]
    policies = [dataclasses.replace(p, enabled=True) for p in load_templates()]
    dispatch = Dispatch(policies)
    checked = 0
    for a in acts:
        candidates = dispatch.candidates(a.activity_type, a.category)
        for p in policies:
            if p.matches(a):
                assert p in candidates, (p.id, a.activity_type)
                checked += 1
    assert checked > 300
    # and the shortcut does cut: a sign-in is not offered the file and mail templates
    sign_in = {p.id for p in dispatch.candidates("user.session.start", Category.LOGON)}
    assert "mass-download" not in sign_in and "failed-sign-ins" in sign_in
