"""The Office 365 connector against the in-process emulator: connection tests, errors with
their meaning and fix, components, and the Graph inventory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.sandbox.o365_conftest_helpers import CLIENT_ID, EXPIRED_SECRET, TENANT_ID, Tenant

from opencasb.apps.office365.activity_api import HEAD
from opencasb.apps.office365.components import (
    DEFAULT_COMPONENTS,
    aad_kind,
    parse_components,
    record_filter,
)
from opencasb.apps.office365.connector import Office365Connector
from opencasb.apps.office365.errors import AUDIT_OFF, extract_o365_code
from opencasb.errors import ConfigError
from opencasb.formats.records import RawRecords
from opencasb.sandbox.office365.errors import activity_body, tenant_not_found

Connect = Callable[..., Office365Connector]


def test_connection_test_passes_and_names_the_content_types(connect: Connect) -> None:
    check = connect().test()
    assert check.ok, check.summary
    assert "Audit.AzureActiveDirectory" in check.details["content_types"]
    assert "DLP.All" in check.details["content_types"]


@pytest.mark.parametrize(
    ("kwargs", "code", "words"),
    [
        ({"secret": "Wrong~secret-value-123"}, "AADSTS7000215", "client secret"),
        ({"secret": EXPIRED_SECRET}, "AADSTS7000222", "expired"),
        ({"client_id": "11111111-2222-4333-8444-555555555555"}, "AADSTS700016", "client id"),
        ({"tenant_id": "99999999-2222-4333-8444-555555555555"}, "AADSTS90002", "tenant"),
    ],
)
def test_credential_errors_say_what_is_wrong_and_what_to_do(
    connect: Connect, kwargs: dict[str, str], code: str, words: str
) -> None:
    check = connect(**kwargs).test()
    assert not check.ok
    assert check.error is not None
    assert check.error.code == code
    assert words in (check.error.meaning + check.error.fix).lower()
    assert check.error.fix
    assert "Wrong~secret" not in check.summary + check.error.meaning  # never echoed


def test_no_licence_is_af20012_with_its_fix(connect: Connect, tenant: Tenant) -> None:
    tenant.state.licensed = False
    check = connect().test()
    assert not check.ok and check.error is not None
    assert check.error.code == "AF20012"
    assert "licence" in check.error.meaning and "licence" in check.error.fix


def test_auditing_off_says_turn_on_audit_logging(connect: Connect, tenant: Tenant) -> None:
    tenant.state.auditing_enabled = False
    tenant.state.subscriptions.clear()
    check = connect().test()
    assert not check.ok and check.error is not None
    assert check.error.code in ("AF20023", AUDIT_OFF)
    assert "audit logging" in check.error.meaning
    assert "Purview" in check.error.fix


def test_the_diagnostic_dump_is_recognised_as_auditing_off() -> None:
    body = activity_body(tenant_not_found(TENANT_ID, "Audit.General", CLIENT_ID, "c0rr"))
    import orjson

    assert extract_o365_code(orjson.dumps(body))[0] == AUDIT_OFF
    assert extract_o365_code(b'{"error":{"code":"x","message":"... AF20012 ..."}}')[0] == "AF20012"
    assert extract_o365_code(b"<html>") == ("", "")


def test_missing_subscriptions_are_started(connect: Connect, tenant: Tenant) -> None:
    tenant.state.subscriptions.clear()
    assert connect().test().ok
    assert {"Audit.Exchange", "DLP.All"} <= {
        ct for ct, sub in tenant.state.subscriptions.items() if sub.status == "enabled"
    }


def test_config_is_validated_with_fixes() -> None:
    base = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID}
    with pytest.raises(ConfigError, match="GUID"):
        Office365Connector.validate_config({**base, "tenant_id": "contoso"})
    with pytest.raises(ConfigError, match="cloud"):
        Office365Connector.validate_config({**base, "cloud": "mars"})
    with pytest.raises(ConfigError, match="between 0 and 7"):
        Office365Connector.validate_config({**base, "backfill_days": "30"})
    with pytest.raises(ConfigError, match="https origin"):
        Office365Connector.validate_config({**base, "endpoint": "http://127.0.0.1:1"})
    out = Office365Connector.validate_config({**base, "cloud": "GCC-High"})
    assert out["cloud"] == "gcc_high"
    assert "users_groups" in out["components"]


def test_files_needs_activities_and_file_monitoring(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="activities") as err:
        parse_components("files", file_monitoring=True)
    assert err.value.fix
    with pytest.raises(ConfigError, match="file monitoring") as err:
        parse_components("activities,files", file_monitoring=False)
    assert "OPENCASB_FILE_MONITORING" in err.value.fix
    assert "files" in parse_components("activities,files", file_monitoring=True)
    base = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "components": "activities,files"}
    monkeypatch.delenv("OPENCASB_FILE_MONITORING", raising=False)
    with pytest.raises(ConfigError, match="file monitoring"):
        Office365Connector.validate_config(base)
    monkeypatch.setenv("OPENCASB_FILE_MONITORING", "true")
    assert "files" in Office365Connector.validate_config(base)["components"]
    with pytest.raises(ConfigError, match="unknown"):
        parse_components("activities,email", file_monitoring=False)


def test_azure_ad_components_split_one_content_type() -> None:
    signin = {"Operation": "UserLoggedIn", "RecordType": 15}
    consent = {"Operation": "Consent to application.", "RecordType": 8}
    admin = {"Operation": "Add member to role.", "RecordType": 8}
    assert [aad_kind(r) for r in (signin, consent, admin)] == ["signin", "apps", "management"]
    keep = record_filter("Audit.AzureActiveDirectory", ["aad_signins"])
    assert keep is not None and keep(signin) and not keep(admin) and not keep(consent)
    assert record_filter("Audit.AzureActiveDirectory", DEFAULT_COMPONENTS) is None
    assert parse_components("", file_monitoring=False) == ("users_groups",)
    assert record_filter("Audit.Exchange", ["activities"]) is None


def test_only_the_chosen_components_are_fetched(connect: Connect) -> None:
    conn = connect(components="aad_signins")
    feeds = conn.feeds()
    assert [f.name for f in feeds] == ["content:Audit.AzureActiveDirectory"]
    feed = feeds[0]
    records = [
        r
        for page in feed.fetch(feed.initial_cursor(conn.http.clock.now()))
        for r in page.raw_events
    ]
    assert records
    assert {r["Operation"] for r in records} <= {"UserLoggedIn", "UserLoginFailed"}


def test_inventory_lists_users_and_groups(connect: Connect) -> None:
    inv = connect().inventory()
    assert len(inv.accounts) == 12
    by_email = {a.email: a for a in inv.accounts}
    assert all(a.status in ("ENABLED", "DISABLED") for a in inv.accounts)
    assert sum(a.status == "DISABLED" for a in inv.accounts) == 1
    synced = [a for a in inv.accounts if a.raw.get("onPremisesSyncEnabled")]
    assert len(synced) == 1
    assert "alex.wilber@contoso.onmicrosoft.com" in by_email
    kinds = {g.name: g.type for g in inv.groups}
    assert kinds["Project Falcon"] == "Microsoft 365"
    assert kinds["Finance"] == "Security"


def test_a_failing_login_host_is_retried_not_blamed_on_the_tenant(
    tenant_factory: Callable[..., Tenant], connect: Connect
) -> None:
    """Faults hit Azure AD's discovery and token endpoints too: a 5xx or 429 there is
    transient and retried, never reported as a wrong tenant."""
    from opencasb.sandbox.office365 import Faults

    t = tenant_factory(faults=Faults(error_500_rate=0.3, burst_429_every=5, seed=9))
    for _ in range(5):
        check = connect(t=t).test()
        assert check.ok or (check.error is not None and check.error.transient), check.summary
        assert check.ok or check.error is None or check.error.code != "AADSTS90002"


def test_inventory_of_the_synthetic_tenant_has_group_members() -> None:
    from datetime import UTC, datetime

    from tests.sandbox.o365_conftest_helpers import signing_key

    from opencasb.clock import FakeClock
    from opencasb.http.options import HttpOptions
    from opencasb.sandbox.office365_sandbox import build_o365_sandbox
    from opencasb.sandbox.transport import SyncASGITransport

    clock = FakeClock(datetime(2026, 11, 4, 9, 0, tzinfo=UTC))
    sb = build_o365_sandbox(seed=2, size=60, days=1, clock=clock, signing_key=signing_key())
    creds = sb.credentials
    transport = SyncASGITransport(sb.app)
    conn = Office365Connector(
        {"tenant_id": creds.tenant_id, "client_id": creds.client_id, "endpoint": "https://t.test"},
        {"client_secret": creds.client_secret},
        http=HttpOptions(transport=transport, clock=clock),
    )
    try:
        inv = conn.inventory()
    finally:
        conn.close()
        transport.close()
    assert len(inv.accounts) == len(sb.state.users)
    by_id = {g.id: g for g in inv.groups}
    assert by_id and set(by_id) == set(sb.state.groups)
    for gid, members in sb.memberships.items():
        assert sorted(by_id[gid].member_ids) == sorted(members)
    assert any(g.type == "Microsoft 365" for g in inv.groups)


def test_services_name_the_office365_apps_of_records(connect: Connect) -> None:
    records = [
        {"RecordType": 15, "Workload": "AzureActiveDirectory"},
        {"RecordType": "6", "Workload": "OneDrive"},
        {"RecordType": 1, "Workload": "Exchange"},
        {"RecordType": 25, "Workload": "MicrosoftTeams"},
        "not a record",
    ]
    assert connect().services(records) >= {"OneDrive", "Exchange", "Microsoft Teams"}


def test_services_read_the_same_from_a_page_of_record_texts(connect: Connect) -> None:
    """The feed's pages keep records as text; services() reads their decoded heads and
    names the same apps as from parsed records, skipping what is not an object and
    coping with hostile field types."""
    body = (
        b'[{"RecordType": 15, "Workload": "AzureActiveDirectory", "Id": "a"},'
        b' {"RecordType": "6", "Workload": "OneDrive"},'
        b' {"RecordType": 1, "Workload": {"not": "a string"}},'
        b' {"RecordType": 1e999, "Workload": "MicrosoftTeams"},'
        b' "not a record", 7]'
    )
    page = RawRecords.split(body, HEAD)
    assert connect().services(page) == connect().services(list(page))
    assert connect().services(page) >= {"OneDrive", "Exchange", "Microsoft Teams"}
    no_object = RawRecords.split(b'[{"RecordType": "6", "Workload": "OneDrive"}, 7]', HEAD)
    assert connect().services(no_object) == {"OneDrive"}


def test_a_certificate_credential_connects(tenant: Tenant) -> None:
    """MSAL signs a client assertion with the certificate's key; the emulator verifies it."""
    from tests.sandbox.o365_conftest_helpers import BASE, ROLES

    from opencasb.http.options import HttpOptions
    from opencasb.sandbox.office365.credentials import make_certificate

    cert = make_certificate("opencasb-test", now=tenant.clock.now(), bits=2048)
    tenant.state.register_app(CLIENT_ID, roles=ROLES, certificates=[cert.certificate_pem])
    config = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "endpoint": BASE,
              "auth": "certificate"}  # fmt: skip
    http = HttpOptions(transport=tenant.client._transport, clock=tenant.clock)
    pem = cert.private_key_pem + cert.certificate_pem
    conn = Office365Connector(config, {"certificate": pem}, http=http)
    try:
        assert conn.test().ok
    finally:
        conn.close()
    with pytest.raises(ConfigError, match="certificate"):
        Office365Connector(config, {"certificate": cert.private_key_pem}, http=http)
    other = make_certificate("not-uploaded", now=tenant.clock.now(), bits=2048)
    stranger = Office365Connector(
        config, {"certificate": other.private_key_pem + other.certificate_pem}, http=http
    )
    try:
        check = stranger.test()
    finally:
        stranger.close()
    assert not check.ok and check.error is not None
    assert check.error.code.startswith("AADSTS") and check.error.fix
