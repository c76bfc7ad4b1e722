"""Okta directory objects for seeding the emulator."""

from __future__ import annotations

import re
from collections import Counter

from opencasb.sandbox.okta.generate import okta_seed_parts
from opencasb.sandbox.org import build_org

USER_ID = re.compile(r"^00u[0-9A-Za-z]{17}$")
GROUP_ID = re.compile(r"^00g[0-9A-Za-z]{17}$")


def test_users_have_the_api_shape_and_realistic_statuses() -> None:
    org = build_org(8, 2000)
    users, *_ = okta_seed_parts(org)
    assert len(users) == 2000
    assert len({u["id"] for u in users}) == 2000
    statuses = Counter(u["status"] for u in users)
    assert statuses["ACTIVE"] > 0.9 * 2000
    for s in ("SUSPENDED", "DEPROVISIONED", "LOCKED_OUT", "PROVISIONED"):
        assert 0 < statuses[s] < 0.05 * 2000, s
    for u in users:
        assert USER_ID.match(u["id"])
        assert "_links" not in u
        assert set(u) >= {
            "id", "status", "created", "activated", "statusChanged", "lastLogin",
            "lastUpdated", "passwordChanged", "type", "profile", "credentials",
        }  # fmt: skip
        assert {"firstName", "lastName", "login", "email"} <= set(u["profile"])
        if u["status"] == "ACTIVE":
            assert u["lastLogin"] is not None and u["activated"] is not None
        if u["status"] == "PROVISIONED":
            assert u["activated"] is None and u["lastLogin"] is None
        assert u["created"] <= u["lastUpdated"]


def test_groups_memberships_and_roles_refer_to_real_ids() -> None:
    org = build_org(8, 300)
    users, groups, memberships, admin_roles = okta_seed_parts(org)
    ids = {u["id"] for u in users}
    assert all(GROUP_ID.match(g["id"]) and "_links" not in g for g in groups)
    types = Counter(g["type"] for g in groups)
    assert types["BUILT_IN"] == 1 and types["OKTA_GROUP"] == len(groups) - 1
    everyone = next(g for g in groups if g["type"] == "BUILT_IN")
    assert everyone["profile"]["name"] == "Everyone"
    assert set(memberships[everyone["id"]]) == ids
    assert set(memberships) == {g["id"] for g in groups}
    assert all(set(m) <= ids for m in memberships.values())
    assert set(admin_roles) <= ids
    roles = Counter(r for rs in admin_roles.values() for r in rs)
    assert roles["SUPER_ADMIN"] >= 2


def test_seed_parts_are_deterministic() -> None:
    org = build_org(8, 100)
    assert okta_seed_parts(org) == okta_seed_parts(build_org(8, 100))
