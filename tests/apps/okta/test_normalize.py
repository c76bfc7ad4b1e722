"""The Okta normalizer: classification table, outcomes, field mapping and malformed records."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from opencasb.apps.okta.event_types import EVENT_TYPES, classify
from opencasb.apps.okta.normalize import country_code, normalize
from opencasb.errors import NormalizeError
from opencasb.model import Actor, Category, Geo, Outcome

C = Category

# A hand-written event in the LogEvent shape (invented values), exercising every mapped field.
EVENT: dict[str, Any] = {
    "uuid": "0a1b2c3d-0000-11ef-8000-000000000001",
    "published": "2025-03-04T05:06:07.089Z",
    "eventType": "user.session.start",
    "version": "0",
    "severity": "INFO",
    "legacyEventType": "core.user_auth.login_success",
    "displayMessage": "User login to Okta",
    "actor": {
        "id": "00uTESTACTOR0001",
        "type": "User",
        "alternateId": "Ada.Lovelace@Example.ORG",
        "displayName": "Ada Lovelace",
        "detailEntry": None,
    },
    "client": {
        "userAgent": {
            "rawUserAgent": "Mozilla/5.0 (X11) Firefox/120.0",
            "os": "Linux",
            "browser": "FIREFOX",
        },
        "zone": "null",
        "device": "Computer",
        "id": None,
        "ipAddress": "198.51.100.7",
        "geographicalContext": {
            "city": "Lyon",
            "state": "Auvergne-Rhone-Alpes",
            "country": "France",
            "postalCode": "69001",
            "geolocation": {"lat": 45.76, "lon": 4.83},
        },
    },
    "device": {"id": "guoTEST", "os_platform": "LINUX", "managed": False, "jailbreak": None},
    "authenticationContext": {
        "authenticationProvider": "OKTA_AUTHENTICATION_PROVIDER",
        "credentialProvider": None,
        "credentialType": "PASSWORD",
        "issuer": None,
        "interface": None,
        "authenticationStep": 0,
        "rootSessionId": "idxROOT",
        "externalSessionId": "idxEXT",
    },
    "securityContext": {
        "asNumber": 64500,
        "asOrg": "example transit",
        "isp": "example isp",
        "domain": "example.net",
        "isProxy": False,
    },
    "debugContext": {
        "debugData": {
            "requestUri": "/idp/idx/identify",
            "threatSuspected": "false",
            "threatDetections": '{"Password Spray":"HIGH"}',
            "behaviors": "{New IP=POSITIVE, New Device=NEGATIVE}",
            "risk": "{level=LOW}",
            "dtHash": None,
        }
    },
    "transaction": {"type": "WEB", "id": "txTEST", "detail": {"requestApiTokenId": "00TTOKEN"}},
    "request": {
        "ipChain": [
            {"ip": "198.51.100.7", "geographicalContext": None, "version": "V4", "source": None},
            {"ip": "203.0.113.9", "geographicalContext": None, "version": "V4", "source": None},
        ]
    },
    "outcome": {"result": "SUCCESS", "reason": None},
    "target": [
        {"id": "0oaAPP", "type": "AppInstance", "alternateId": "Portal", "displayName": "Portal"},
        {"id": "0uaUSER", "type": "AppUser", "alternateId": "ada", "displayName": "unknown"},
    ],
}


def event(**changes: Any) -> dict[str, Any]:
    """A deep copy of EVENT with top-level keys replaced (a value of ... deletes the key)."""
    record = copy.deepcopy(EVENT)
    for key, value in changes.items():
        if value is ...:
            record.pop(key, None)
        else:
            record[key] = value
    return record


# ------------------------------------------------------------------ the full mapping


def test_maps_every_field_of_a_complete_event() -> None:
    record = event()
    activity = normalize(record)

    assert activity.raw is record
    assert record == EVENT  # left unchanged
    assert activity.time == datetime(2025, 3, 4, 5, 6, 7, 89000, tzinfo=UTC)
    assert (activity.app, activity.source_event_id) == ("okta", EVENT["uuid"])
    assert (activity.activity_type, activity.category, activity.action) == (
        "user.session.start",
        C.LOGON,
        "sign-in",
    )
    assert activity.outcome is Outcome.SUCCESS
    assert activity.outcome_detail == "SUCCESS"
    assert activity.outcome_reason is None
    assert activity.actor == Actor(
        "00uTESTACTOR0001", "Ada Lovelace", "ada.lovelace@example.org", "User"
    )
    assert [(t.id, t.type, t.name) for t in activity.targets] == [
        ("0oaAPP", "AppInstance", "Portal"),
        ("0uaUSER", "AppUser", "unknown"),
    ]
    assert activity.src_ip == "198.51.100.7"
    assert activity.geo == Geo("France", "FR", "Auvergne-Rhone-Alpes", "Lyon", 45.76, 4.83)
    assert (activity.asn, activity.isp) == (64500, "example isp")
    assert activity.user_agent == "Mozilla/5.0 (X11) Firefox/120.0"
    assert activity.device == "Linux / Firefox"
    assert activity.severity == "INFO"
    # "unknown" is Okta's placeholder, not a name worth showing
    assert activity.description == "User login to Okta (Portal)"
    assert activity.details == {
        "auth.credential_type": "PASSWORD",
        "auth.authentication_provider": "OKTA_AUTHENTICATION_PROVIDER",
        "auth.external_session_id": "idxEXT",
        "auth.root_session_id": "idxROOT",
        "security.is_proxy": False,
        "security.domain": "example.net",
        "security.as_org": "example transit",
        "transaction.id": "txTEST",
        "transaction.type": "WEB",
        "transaction.api_token_id": "00TTOKEN",
        "client.device": "Computer",
        "client.os": "Linux",
        "client.browser": "FIREFOX",
        "request.ip_chain": ["198.51.100.7", "203.0.113.9"],
        "device.id": "guoTEST",
        "device.os_platform": "LINUX",
        "device.managed": False,
        "debug.requestUri": "/idp/idx/identify",
        "debug.threatSuspected": "false",
        "debug.threatDetections": {"Password Spray": "HIGH"},
        "debug.behaviors": "{New IP=POSITIVE, New Device=NEGATIVE}",
        "debug.risk": "{level=LOW}",
        "legacy_event_type": "core.user_auth.login_success",
    }


# ------------------------------------------------------------------ category and action

SECURITY_EVENT_TYPES = [
    ("user.session.start", C.LOGON, "sign-in"),
    ("user.session.end", C.LOGON, "sign-out"),
    ("user.authentication.sso", C.SSO, "sso"),
    ("user.authentication.auth_via_mfa", C.MFA, "mfa-verify"),
    ("user.authentication.verify", C.LOGON, "verify-identity"),
    ("user.authentication.auth_via_IDP", C.LOGON, "sign-in-via-idp"),
    ("user.authentication.auth_via_social", C.LOGON, "sign-in-via-social"),
    ("user.account.lock", C.USER_MANAGEMENT, "lock-account"),
    ("user.account.lock.limit", C.USER_MANAGEMENT, "lock-account-limit"),
    ("user.account.unlock", C.USER_MANAGEMENT, "unlock-account"),
    ("user.account.unlock_by_admin", C.USER_MANAGEMENT, "admin-unlock-account"),
    ("policy.evaluate_sign_on", C.LOGON, "evaluate-sign-on-policy"),
    ("user.mfa.factor.deactivate", C.MFA, "reset-factor"),
    ("user.mfa.factor.reset_all", C.MFA, "reset-all-factors"),
    ("user.mfa.factor.activate", C.MFA, "enroll-factor"),
    ("user.mfa.okta_verify.deny_push", C.MFA, "deny-push"),
    ("user.mfa.attempt_bypass", C.MFA, "attempt-mfa-bypass"),
    ("system.api_token.create", C.ADMIN, "create-api-token"),
    ("system.api_token.revoke", C.ADMIN, "revoke-api-token"),
    ("system.api_token.enable", C.ADMIN, "enable-api-token"),
    ("user.account.privilege.grant", C.ADMIN, "grant-privilege"),
    ("user.account.privilege.revoke", C.ADMIN, "revoke-privilege"),
    ("group.privilege.grant", C.ADMIN, "grant-group-privilege"),
    ("group.user_membership.add", C.USER_MANAGEMENT, "add-group-member"),
    ("group.user_membership.remove", C.USER_MANAGEMENT, "remove-group-member"),
    ("application.user_membership.add", C.APP, "assign-app"),
    ("application.user_membership.remove", C.APP, "unassign-app"),
    ("user.lifecycle.create", C.USER_MANAGEMENT, "create-user"),
    ("user.lifecycle.activate", C.USER_MANAGEMENT, "activate-user"),
    ("user.lifecycle.deactivate", C.USER_MANAGEMENT, "deactivate-user"),
    ("user.lifecycle.suspend", C.USER_MANAGEMENT, "suspend-user"),
    ("user.lifecycle.unsuspend", C.USER_MANAGEMENT, "unsuspend-user"),
    ("user.lifecycle.reactivate", C.USER_MANAGEMENT, "reactivate-user"),
    ("user.lifecycle.delete.initiated", C.USER_MANAGEMENT, "delete-user"),
    ("user.session.clear", C.LOGON, "clear-sessions"),
    ("user.session.impersonation.initiate", C.ADMIN, "start-impersonation"),
    ("user.session.impersonation.grant", C.ADMIN, "grant-impersonation"),
    ("user.session.impersonation.end", C.ADMIN, "end-impersonation"),
    ("user.session.access_admin_app", C.ADMIN, "access-admin-console"),
    ("security.threat.detected", C.SECURITY, "threat-detected"),
    ("security.request.blocked", C.SECURITY, "request-blocked"),
    ("security.session.detect_client_roaming", C.SECURITY, "session-roaming"),
    (
        "user.account.report_suspicious_activity_by_enduser",
        C.SECURITY,
        "report-suspicious-activity",
    ),
    ("user.risk.detect", C.SECURITY, "risk-detected"),
    ("user.account.reset_password", C.USER_MANAGEMENT, "reset-password"),
    ("user.account.update_password", C.USER_MANAGEMENT, "change-password"),
    ("user.account.update_profile", C.USER_MANAGEMENT, "update-profile"),
    ("app.oauth2.as.token.grant", C.APP, "grant-oauth-token"),
    ("policy.lifecycle.update", C.ADMIN, "update-policy"),
    ("policy.rule.update", C.ADMIN, "update-policy-rule"),
    ("zone.update", C.ADMIN, "update-zone"),
    ("system.org.rate_limit.violation", C.SYSTEM, "rate-limit-violation"),
    ("system.rate.limit.violation", C.SYSTEM, "rate-limit-violation"),
    ("system.rate.limit.warning", C.SYSTEM, "rate-limit-warning"),
    ("system.rate.limit.burst", C.SYSTEM, "rate-limit-burst"),
    ("core.concurrency.org.limit.violation", C.SYSTEM, "concurrency-limit-violation"),
]


@pytest.mark.parametrize(("event_type", "category", "action"), SECURITY_EVENT_TYPES)
def test_security_event_types_have_exact_entries(
    event_type: str, category: Category, action: str
) -> None:
    assert EVENT_TYPES[event_type] == (category, action)
    activity = normalize(event(eventType=event_type))
    assert (activity.category, activity.action) == (category, action)


@pytest.mark.parametrize(
    ("event_type", "category", "action"),
    [
        # unlisted eventTypes fall into their family by the longest dotted prefix
        ("user.session.something_new", C.LOGON, "user-session-something-new"),
        ("user.authentication.sso.extra", C.SSO, "user-authentication-sso-extra"),
        ("user.mfa.factor.frobnicate", C.MFA, "user-mfa-factor-frobnicate"),
        ("user.lifecycle.archive", C.USER_MANAGEMENT, "user-archive"),
        ("user.account.privilege.update", C.ADMIN, "update-user-account-privilege"),
        ("group.user_membership.rule.add", C.USER_MANAGEMENT, "add-group-user-membership-rule"),
        ("system.api_token.rotate", C.ADMIN, "system-api-token-rotate"),
        ("policy.mapping.delete", C.ADMIN, "delete-policy-mapping"),
        ("zone.make_dynamic", C.ADMIN, "zone-make-dynamic"),
        ("application.lifecycle.archive", C.APP, "application-archive"),
        ("security.authenticator.lifecycle.create", C.SECURITY, "create-security-authenticator"),
        ("system.email.sent", C.SYSTEM, "system-email-sent"),
        ("brand_new.family.create", C.OTHER, "create-brand-new-family"),
        ("", C.OTHER, "unknown"),
        ("..", C.OTHER, "unknown"),
    ],
)
def test_unlisted_event_types_use_family_and_derived_action(
    event_type: str, category: Category, action: str
) -> None:
    assert event_type not in EVENT_TYPES
    assert classify(event_type) == (category, action)


def test_every_table_entry_agrees_with_a_sensible_family() -> None:
    # Exact entries may refine their family (that is their point), but never leave OTHER.
    assert all(category is not C.OTHER for category, _ in EVENT_TYPES.values())
    assert all(
        action and action == action.lower() and " " not in action
        for _, action in EVENT_TYPES.values()
    )


# ------------------------------------------------------------------ outcome


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        ("SUCCESS", Outcome.SUCCESS),
        ("ALLOW", Outcome.SUCCESS),
        ("FAILURE", Outcome.FAILURE),
        ("DENY", Outcome.FAILURE),
        ("CHALLENGE", Outcome.UNKNOWN),
        ("SKIPPED", Outcome.UNKNOWN),
        ("UNKNOWN", Outcome.UNKNOWN),
        ("RATE_LIMIT", Outcome.UNKNOWN),
        ("DEFERRED", Outcome.UNKNOWN),
        ("SCHEDULED", Outcome.UNKNOWN),
        ("ABANDONED", Outcome.UNKNOWN),
        ("UNANSWERED", Outcome.UNKNOWN),
    ],
)
def test_outcome_mapping_keeps_the_raw_result(result: str, outcome: Outcome) -> None:
    activity = normalize(event(outcome={"result": result, "reason": "INVALID_CREDENTIALS"}))
    assert activity.outcome is outcome
    assert activity.outcome_detail == result
    assert activity.outcome_reason == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("value", [None, {}, {"result": None}, {"result": ""}, "SUCCESS", [1]])
def test_missing_or_odd_outcome_is_unknown(value: Any) -> None:
    activity = normalize(event(outcome=value))
    assert activity.outcome is Outcome.UNKNOWN
    assert activity.outcome_detail is None


# ------------------------------------------------------------------ time and identity


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2024-08-13T15:58:20.353Z", datetime(2024, 8, 13, 15, 58, 20, 353000, tzinfo=UTC)),
        ("2024-08-13T15:58:20Z", datetime(2024, 8, 13, 15, 58, 20, tzinfo=UTC)),
        ("2024-08-13T17:58:20.353+02:00", datetime(2024, 8, 13, 15, 58, 20, 353000, tzinfo=UTC)),
        ("2024-08-13T10:58:20-05:00", datetime(2024, 8, 13, 15, 58, 20, tzinfo=UTC)),
        ("2024-08-13T15:58:20.353123456Z", datetime(2024, 8, 13, 15, 58, 20, 353123, tzinfo=UTC)),
        ("2024-08-13 15:58:20.353", datetime(2024, 8, 13, 15, 58, 20, 353000, tzinfo=UTC)),
    ],
)
def test_published_is_parsed_to_aware_utc(published: str, expected: datetime) -> None:
    activity = normalize(event(published=published))
    assert activity.time == expected
    assert activity.time.tzinfo is UTC


@pytest.mark.parametrize(
    "published",
    [
        ...,
        None,
        "",
        "yesterday",
        "2024-08-13",
        "2024-13-45T99:00:00Z",
        1723564700,
        "9999-12-31T23:59:59-23:59",
    ],
)
def test_bad_published_raises_naming_field_and_uuid(published: Any) -> None:
    with pytest.raises(NormalizeError) as caught:
        normalize(event(published=published))
    assert "published" in str(caught.value)
    assert EVENT["uuid"] in str(caught.value)
    assert caught.value.fix


@pytest.mark.parametrize("uuid", [..., None, "", "   ", 42, ["x"]])
def test_missing_uuid_raises_naming_the_field(uuid: Any) -> None:
    with pytest.raises(NormalizeError, match="uuid"):
        normalize(event(uuid=uuid))


def test_a_record_that_is_not_an_object_raises() -> None:
    with pytest.raises(NormalizeError):
        normalize(["not", "an", "event"])  # type: ignore[arg-type]


# ------------------------------------------------------------------ odd shapes


def test_actor_null_or_odd() -> None:
    odd_values: list[Any] = [None, "someone", [], {}]
    for value in odd_values:
        assert normalize(event(actor=value)).actor == Actor()
    odd = normalize(event(actor={"id": 12345, "alternateId": "not-an-email", "type": None}))
    assert odd.actor == Actor(id="12345")
    system = normalize(event(actor={"alternateId": "system@okta.com", "type": "SystemPrincipal"}))
    assert system.actor.email == "system@okta.com"


@pytest.mark.parametrize("value", [None, ..., {}, "x", 7, [None, "x", 3]])
def test_target_null_missing_or_not_a_list(value: Any) -> None:
    activity = normalize(event(target=value))
    assert activity.targets == ()
    assert activity.description == "User login to Okta"


def test_client_null_falls_back_to_the_ip_chain() -> None:
    chain = {
        "ipChain": [{"ip": "192.0.2.1", "geographicalContext": {"country": "Japan", "city": None}}]
    }
    activity = normalize(event(client=None, request=chain))
    assert activity.src_ip == "192.0.2.1"
    assert activity.geo == Geo(country="Japan", country_code="JP")
    assert (activity.user_agent, activity.device) == (None, "LINUX")  # device.os_platform


@pytest.mark.parametrize(
    "request_value", [None, {}, {"ipChain": None}, {"ipChain": []}, {"ipChain": [None]}]
)
def test_no_client_and_no_chain_means_no_ip(request_value: Any) -> None:
    activity = normalize(event(client=None, request=request_value))
    assert (activity.src_ip, activity.geo) == (None, None)


def test_geographical_context_with_nulls() -> None:
    client = copy.deepcopy(EVENT["client"])
    client["geographicalContext"] = {
        "city": None,
        "state": None,
        "country": None,
        "postalCode": None,
        "geolocation": None,
    }
    assert normalize(event(client=client)).geo is None
    client["geographicalContext"] = {
        "country": "Narnia",
        "geolocation": {"lat": "12.5", "lon": "x"},
    }
    assert normalize(event(client=client)).geo == Geo(country="Narnia", lat=12.5)
    client["geographicalContext"] = {"geolocation": {"lat": True, "lon": float("nan")}, "city": ""}
    assert normalize(event(client=client)).geo is None


@pytest.mark.parametrize(
    ("as_number", "asn"),
    [
        (7018, 7018),
        ("7018", 7018),
        (" AS7018 ", 7018),
        (7018.0, 7018),
        (None, None),
        ("", None),
        ("n/a", None),
        ("²", None),
        (-1, None),
        (2**40, None),
        (True, None),
    ],
)
def test_as_number_in_any_form(as_number: Any, asn: int | None) -> None:
    security = dict(EVENT["securityContext"], asNumber=as_number)
    assert normalize(event(securityContext=security)).asn == asn


def test_isp_falls_back_to_the_as_organisation() -> None:
    activity = normalize(event(securityContext={"asOrg": "example transit", "isp": None}))
    assert activity.isp == "example transit"
    assert normalize(event(securityContext=None)).isp is None


def test_zone_string_null_is_no_zone_and_a_real_zone_is_kept() -> None:
    client = dict(EVENT["client"], zone="null")
    assert "client.zone" not in normalize(event(client=client)).details
    client = dict(EVENT["client"], zone="OFF_NETWORK")
    assert normalize(event(client=client)).details["client.zone"] == "OFF_NETWORK"


def test_debug_data_json_strings() -> None:
    debug = {"threatDetections": "{not json", "logOnlySecurityData": '{"risk":{"level":"HIGH"}}'}
    details = normalize(event(debugContext={"debugData": debug})).details
    assert details["debug.threatDetections"] == "{not json"  # kept when unreadable
    assert details["debug.logOnlySecurityData"] == {"risk": {"level": "HIGH"}}
    for odd in (None, {"debugData": None}, {"debugData": "x"}, "x"):
        assert not any(k.startswith("debug.") for k in normalize(event(debugContext=odd)).details)


def test_string_booleans_and_odd_sections_in_details() -> None:
    security = {"isProxy": "TRUE"}
    activity = normalize(event(securityContext=security, transaction=None, authenticationContext=7))
    assert activity.details["security.is_proxy"] is True
    assert not any(k.startswith(("transaction.", "auth.")) for k in activity.details)


@pytest.mark.parametrize(
    ("agent", "device", "expected"),
    [
        ({"os": "Mac OS X", "browser": "CHROME"}, "Computer", "Mac OS X / Chrome"),
        (
            {"os": "Windows 10", "browser": "EDGE_CHROMIUM"},
            "Computer",
            "Windows 10 / Edge Chromium",
        ),
        ({"os": "Unknown", "browser": "UNKNOWN"}, "Mobile", "Mobile"),
        ({"os": "iOS", "browser": None}, None, "iOS"),
        (None, "Unknown", "LINUX"),
    ],
)
def test_device_label(agent: Any, device: Any, expected: str) -> None:
    client = dict(EVENT["client"], userAgent=agent, device=device)
    assert normalize(event(client=client)).device == expected


def test_email_only_when_alternate_id_looks_like_one() -> None:
    for login, email in [
        ("ADA@EXAMPLE.ORG", "ada@example.org"),
        ("unknown", None),
        ("@x", None),
        ("a b@c", None),
    ]:
        actor = dict(EVENT["actor"], alternateId=login)
        assert normalize(event(actor=actor)).actor.email == email


def test_missing_event_type_still_normalizes() -> None:
    activity = normalize(event(eventType=None, displayMessage=None, target=None))
    assert (activity.activity_type, activity.category, activity.action) == ("", C.OTHER, "unknown")
    assert activity.description == ""


def test_country_codes() -> None:
    assert country_code("United States") == "US"
    assert country_code("united kingdom") == "GB"
    assert country_code("South Korea") == "KR"
    assert country_code("Türkiye") == "TR"
    assert country_code("Narnia") is None
    assert country_code(None) is None
    assert country_code("") is None


def test_memos_stay_bounded() -> None:
    from opencasb.apps.okta import normalize as module

    limit = module._actor_memo.limit
    for n in range(limit + 10):
        normalize(event(actor={"id": f"00u{n}"}, client={"geographicalContext": {"city": str(n)}}))
    assert 0 < len(module._actor_memo) <= limit
    assert 0 < len(module._geo_memo) <= module._geo_memo.limit
