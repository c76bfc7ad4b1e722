"""The synthetic organisation: deterministic, plausible, and fast to build."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from opencasb.sandbox.org import build_org, holidays, is_holiday


def test_same_seed_same_org_and_different_seed_different_org() -> None:
    a, b, c = build_org(3, 200), build_org(3, 200), build_org(4, 200)
    assert a == b
    assert [p.email for p in a.people] != [p.email for p in c.people]


@pytest.mark.parametrize("size", [50, 20_000])
def test_sizes_build_quickly_with_unique_emails(size: int) -> None:
    t0 = time.process_time()
    org = build_org(11, size)
    assert time.process_time() - t0 < 5.0
    assert len(org.people) == size
    emails = [p.email for p in org.people]
    assert len(set(emails)) == size
    assert all(
        e.endswith("@example.com") and e == p.login for e, p in zip(emails, org.people, strict=True)
    )
    assert [p.index for p in org.people] == list(range(size))


def test_size_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 50 and 20000"):
        build_org(1, 10)


def test_most_people_live_in_the_head_office_countries() -> None:
    org = build_org(0, 2000)
    countries = Counter(p.country for p in org.people)
    head = sum(countries[c] for c in org.head_countries)
    assert 0.8 < head / 2000 < 0.95
    assert len(countries) > 5  # a realistic minority elsewhere


def test_people_have_complete_attributes() -> None:
    org = build_org(5, 500, domain="corp.test")
    for p in org.people:
        assert p.email.endswith("@corp.test")
        assert p.kind in {"employee", "contractor", "guest"}
        assert 1 <= len(p.devices) <= 3
        assert all(d.user_agent.startswith("Mozilla/5.0 (") for d in p.devices)
        assert p.devices[0].kind == "Computer"
        assert len(p.country) == 2 and p.country_name and p.timezone and p.region
        assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180
        a, _, c, d = (int(x) for x in p.home_ip.split("."))
        assert 0 < c < 255 and 0 < d < 255 and a not in (10, 127, 172, 192)
        assert p.work_start < p.work_end
        assert set(p.apps) <= set(org.apps)
        assert p.is_admin == bool(p.admin_roles)
        assert org.founded <= p.created
    assert any(p.travels for p in org.people) and any(p.uses_vpn for p in org.people)
    assert org.vpn_egress and all("/" in c for c in org.vpn_egress)


def test_admin_roles_are_few_and_include_super_admins() -> None:
    org = build_org(2, 2000)
    roles = Counter(r for p in org.people for r in p.admin_roles)
    assert 2 <= roles["SUPER_ADMIN"] <= 6
    for role in ("ORG_ADMIN", "APP_ADMIN", "HELP_DESK_ADMIN", "READ_ONLY_ADMIN"):
        assert roles[role] >= 1
    assert len(org.admins()) < 0.05 * 2000
    assert all(p.kind == "employee" for p in org.admins())


def test_groups_cover_everyone_departments_and_apps() -> None:
    org = build_org(1, 300)
    kinds = Counter(g.kind for g in org.groups)
    assert kinds["everyone"] == 1 and kinds["department"] >= 10 and kinds["app"] >= 10
    everyone = next(g for g in org.groups if g.kind == "everyone")
    assert len(everyone.members) == 300


def test_public_holidays() -> None:
    assert date(2026, 12, 25) in holidays("US", 2026)
    assert date(2026, 11, 26) in holidays("US", 2026)  # Thanksgiving: 4th Thursday
    assert date(2026, 4, 3) in holidays("GB", 2026)  # Good Friday (Easter is 5 April)
    assert is_holiday("DE", date(2026, 10, 3))
    assert not is_holiday("US", date(2026, 11, 27))
    assert holidays("ZZ", 2026) == frozenset()
