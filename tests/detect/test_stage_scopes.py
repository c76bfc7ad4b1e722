"""Policy scopes in the detection stage, on both engines: include and exclude users, groups
(from the stored inventory, linked across apps by e-mail) and IP tags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.store.conftest import T0, make_activity, save_page

from opencasb.clock import FakeClock
from opencasb.detect import read_policies
from opencasb.detect.directory import InventoryDirectory
from opencasb.detect.stage import DetectionStage, store_policy
from opencasb.enrich import Enricher
from opencasb.enrich.iptags import parse_ip_range
from opencasb.model.activity import Actor, Outcome
from opencasb.model.inventory import Account, Group
from opencasb.store import Store


@pytest.fixture
def clock() -> FakeClock:
    """The clock of the root conftest's ``store`` (both engines), later than its ``T0``."""
    return FakeClock(T0 + timedelta(minutes=5))


def _failure(n: int, app: str, actor_id: str, email: str, ip: str = "203.0.113.7") -> Any:
    return make_activity(
        n,
        app=app,
        source_event_id=f"{app}-{n}",
        outcome=Outcome.FAILURE,
        actor=Actor(id=actor_id, email=email, type="User"),
        src_ip=ip,
    )


def _scoped(store: Store, pid: str, scope: str) -> None:
    (policy,) = read_policies(
        f"""
policies:
  - id: {pid}
    name: Scoped {pid}
    severity: low
    category: threat_detection
    filter: {{field: outcome, equals: failure}}
    scope: {scope}
"""
    )
    store_policy(store, policy)


def _entities(store: Store) -> dict[str, set[tuple[str, int]]]:
    """policy id -> {(entity, activity id)} of its alerts."""
    out: dict[str, set[tuple[str, int]]] = {}
    for a in store.detection.list_alerts():
        out.setdefault(a.policy_id, set()).update((a.entity, i) for i in a.evidence)
    return out


def _org(store: Store) -> None:
    """Okta: ana is in Finance (by account id), bob is not; Office 365: ana and bob again,
    with other account ids (their object ids), linked by e-mail."""
    okta = store.add_instance("okta", "acme", {}, {}).id
    o365 = store.add_instance("office365", "contoso", {}, {}).id
    store.replace_inventory(
        okta,
        [
            Account(id="00uana", email="Ana@Example.com", name="Ana", status="ACTIVE"),
            Account(id="00ubob", email="bob@example.com", name="Bob", status="ACTIVE"),
        ],
        [Group(id="00gfin", name="Finance", member_ids=("00uana",))],
    )
    save_page(
        store,
        okta,
        "logs",
        [
            _failure(1, "okta", "00uana", "ana@example.com"),
            _failure(2, "okta", "00ubob", "bob@example.com", ip="10.1.2.3"),
        ],
        {"n": 1},
    )
    save_page(
        store,
        o365,
        "audit",
        [
            _failure(3, "office365", "ana-object-id", "ana@example.com"),
            _failure(4, "office365", "bob-object-id", "bob@example.com"),
        ],
        {"n": 1},
    )


def test_group_scopes_use_the_stored_inventory_across_apps(store: Store, clock: FakeClock) -> None:
    _org(store)
    _scoped(store, "finance-only", "{include_groups: [finance]}")
    _scoped(store, "not-finance", "{exclude_groups: [FINANCE]}")
    _scoped(store, "by-group-id", "{include_groups: [00gfin]}")
    _scoped(store, "nobody", "{include_groups: [legal]}")
    DetectionStage(store, clock, anomaly=None).run_until_caught_up()
    got = _entities(store)
    ana = {("ana@example.com", 1), ("ana@example.com", 3)}
    bob = {("bob@example.com", 2), ("bob@example.com", 4)}
    assert got["finance-only"] == ana  # the Office 365 failure too, linked by e-mail
    assert got["by-group-id"] == ana
    assert got["not-finance"] == bob
    assert "nobody" not in got


def test_user_and_ip_tag_scopes(store: Store, clock: FakeClock) -> None:
    _org(store)
    _scoped(store, "only-bob", "{include_users: [BOB@example.com]}")
    _scoped(store, "not-ana", "{exclude_users: [00uana, ana-object-id]}")
    _scoped(store, "corporate", "{include_ip_tags: [corporate]}")
    _scoped(store, "outside", "{exclude_ip_tags: [corporate]}")
    enricher = Enricher(ip_ranges=[parse_ip_range("10.0.0.0/8", "corporate", name="office")])
    DetectionStage(store, clock, anomaly=None, enricher=enricher).run_until_caught_up()
    got = _entities(store)
    bob = {("bob@example.com", 2), ("bob@example.com", 4)}
    assert got["only-bob"] == bob
    assert got["not-ana"] == bob
    assert got["corporate"] == {("bob@example.com", 2)}
    assert {i for _, i in got["outside"]} == {1, 3, 4}


def test_inventory_directory_names_groups_by_name_or_id_without_case() -> None:
    directory = InventoryDirectory(
        [
            (
                "acme",
                [Account(id="00uana", email="ana@example.com", name=None, status="ACTIVE")],
                [Group(id="00gFin", name="Finance Team", member_ids=("00uana",))],
            )
        ]
    )
    okta = make_activity(1, instance="acme", actor=Actor(id="00uana", email=None))
    other = make_activity(2, instance="contoso", actor=Actor(id="x", email="ANA@example.com"))
    stranger = make_activity(3, instance="acme", actor=Actor(id="00uzed", email="z@example.com"))
    assert directory.groups_of(okta) == {"finance team", "00gfin"}
    assert directory.groups_of(other) == {"finance team", "00gfin"}
    assert directory.groups_of(stranger) == frozenset()
