"""The Okta connector, runner and store against the in-process emulator (real HTTP client)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from opencasb.http.options import HttpOptions
from opencasb.ingest.runner import IngestRunner
from opencasb.model import HealthState
from opencasb.sandbox.okta import Faults, RateLimits
from opencasb.sandbox.okta_sandbox import LiveTrickle

from .conftest import Org

MakeOrg = Callable[..., Org]


def test_backfill_stores_exactly_the_visible_log(make_org: MakeOrg) -> None:
    org = make_org()
    iid = org.connect()
    result = org.runner().run_once("okta")
    assert result.ok, result.error
    truth = org.visible_uuids()
    assert len(truth) > 1000
    assert org.store.activity_ids(iid) == truth
    assert result.duplicates == 0 and result.rejected == 0
    health = org.store.get_health(iid)
    assert health.state is HealthState.CONNECTED
    assert health.events_stored == len(truth)
    assert health.last_success == org.clock.now()


def test_late_events_and_live_trickle_arrive_on_later_polls(make_org: MakeOrg) -> None:
    org = make_org()
    iid = org.connect()
    runner = org.runner()
    assert runner.run_once("okta").ok
    trickle = LiveTrickle(org.sandbox)
    for _ in range(5):
        org.clock.advance(600)
        trickle.step()
        assert runner.run_once("okta").ok
    assert trickle.appended > 0
    assert org.store.activity_ids(iid) == org.visible_uuids()


def test_faults_do_not_cause_gaps_or_duplicates(make_org: MakeOrg) -> None:
    faults = Faults(
        error_500_rate=0.1,
        error_503_rate=0.05,
        burst_429_every=7,
        late_fraction=0.3,
        late_max_minutes=20,
        seed=3,
    )
    org = make_org(faults=faults)
    iid = org.connect()
    runner = org.runner()
    trickle = LiveTrickle(org.sandbox)
    results = []
    for _ in range(8):
        results.append(runner.run_once("okta"))
        org.clock.advance(300)
        trickle.step()
    org.clock.advance(3600)  # let every late event land, then catch up
    org.sandbox.state.faults.faults.error_500_rate = 0.0
    org.sandbox.state.faults.faults.error_503_rate = 0.0
    results.append(runner.run_once("okta"))
    assert results[-1].ok, results[-1].error
    stored = org.store.activity_ids(iid)
    assert stored == org.visible_uuids()
    assert org.store.count_activities(iid) == len(stored)


def test_pacing_spends_the_budget_without_429(make_org: MakeOrg) -> None:
    org = make_org(size=60, days=20, limits=RateLimits(logs=3))
    iid = org.connect()
    runner = org.runner()
    result = runner.run_once("okta")
    assert result.ok, result.error
    assert result.pages > 6
    assert org.store.activity_ids(iid) == org.visible_uuids()
    assert org.clock.sleeps, "3 requests a minute must have made the client wait"
    assert all(s > 50 for s in org.clock.sleeps)  # waits for window resets, not 429 retries


def test_invalid_token_puts_the_instance_in_error_with_the_fix(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect(token="00definitely-not-a-valid-token-000000000000")
    result = org.runner().run_once("okta")
    assert not result.ok
    health = org.store.get_health(iid)
    assert health.state is HealthState.ERROR
    assert health.last_error is not None and health.last_error.code == "E0000011"
    assert (
        "API token" in health.last_error.meaning
        and "apps edit NAME --new-secret" in health.last_error.fix
    )
    assert org.store.count_activities(iid) == 0


def test_read_only_token_can_ingest(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect(token=org.sandbox.credentials.read_only_token)
    assert org.runner().run_once("okta").ok
    assert org.store.activity_ids(iid) == org.visible_uuids()


def test_oauth_service_app_can_ingest(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    creds = org.sandbox.credentials
    iid = org.store.add_instance(
        "okta",
        "okta",
        {"domain": "acme.okta.test", "auth": "oauth", "client_id": creds.oauth_client_id},
        {"private_key": creds.oauth_private_key_pem},
    ).id
    result = org.runner().run_once("okta")
    assert result.ok, result.error
    assert org.store.activity_ids(iid) == org.visible_uuids()


def test_inventory_lists_users_and_groups(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect()
    assert org.runner().run_once("okta").ok
    accounts = org.store.list_accounts(iid)
    assert len(accounts) == len(org.sandbox.state.users)
    assert {a.status for a in accounts} >= {"ACTIVE"}
    groups = org.store.list_groups(iid)
    assert any(g.name == "Everyone" and g.member_ids for g in groups)


def test_inventory_knows_admins_and_their_roles(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect()
    assert org.runner().run_once("okta").ok
    accounts = {a.id: a for a in org.store.list_accounts(iid)}
    # Every role holder, whatever their status: a suspended admin still holds the role.
    expected = {uid: sorted(roles) for uid, roles in org.sandbox.state.admin_roles.items() if roles}
    assert expected, "the synthetic org has admins"
    for uid, roles in expected.items():
        assert accounts[uid].is_admin and list(accounts[uid].admin_roles) == roles
    assert sum(a.is_admin for a in accounts.values()) == len(expected)
    assert any(a.last_login for a in accounts.values())


def test_a_malformed_record_is_quarantined_and_the_rest_stored(make_org: MakeOrg) -> None:
    org = make_org(size=50, days=1)
    iid = org.connect()
    runner = org.runner()
    assert runner.run_once("okta").ok
    good = next(iter(org.sandbox.state.events()))
    broken = {k: v for k, v in good.items() if k != "uuid"}
    broken["published"] = org.clock.now().isoformat().replace("+00:00", "Z")
    org.sandbox.state.append_event(broken, org.clock.now())
    org.clock.advance(60)
    result = runner.run_once("okta")
    assert result.ok and result.rejected == 1
    assert org.store.count_rejected(iid) == 1
    assert org.store.get_health(iid).rejected == 1
    assert org.store.activity_ids(iid) == org.visible_uuids()


class _Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.paths.append(request.url.path)
        return self.inner.handle_request(request)


def test_the_inventory_gives_way_to_the_backfill_until_it_is_done(make_org: MakeOrg) -> None:
    org = make_org(size=60, days=20)
    iid = org.connect()
    recording = _Recording(org.transport)
    runner = IngestRunner(
        org.store,
        http=HttpOptions(transport=recording, clock=org.clock),
        inventory_interval=3600.0,  # while the feed runs, no inventory request is due
    )
    result = runner.run_once("okta", inventory=True)
    assert result.ok, result.error
    logs = [i for i, p in enumerate(recording.paths) if p.startswith("/api/v1/logs")]
    inventory = [i for i, p in enumerate(recording.paths) if not p.startswith("/api/v1/logs")]
    assert len(logs) > 1 and inventory
    assert min(inventory) > max(logs)  # released when the feed was done, not an hour later
    assert len(org.store.list_accounts(iid)) == len(org.sandbox.state.users)
