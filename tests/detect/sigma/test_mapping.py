"""Sigma's Okta and Microsoft 365 field names map onto the filter language so that rules
match real records as the normalizers store them (the shared samples)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from tests.detect.sigma.helpers import o365, okta, policy_of, sample

from opencasb.detect.sigma.fields import UNKNOWN_PREFIX, m365_field, okta_field


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("eventtype", "activity_type"),
        ("eventType", "activity_type"),
        ("displaymessage", "raw.displayMessage"),
        ("actor.alternateid", "raw.actor.alternateId"),
        ("ACTOR.AlternateId", "raw.actor.alternateId"),
        ("outcome.result", "raw.outcome.result"),
        ("client.ipAddress", "raw.client.ipAddress"),
        (
            "client.geographicalContext.geolocation.lat",
            "raw.client.geographicalContext.geolocation.lat",
        ),
        ("securityContext.isProxy", "raw.securityContext.isProxy"),
        ("debugContext.debugData.requestUri", "raw.debugContext.debugData.requestUri"),
        ("target.displayName", "raw.target.displayName"),
        ("transaction.detail.requestApiTokenId", "raw.transaction.detail.requestApiTokenId"),
    ],
)
def test_okta_fields(name: str, field: str) -> None:
    assert okta_field(name) == field


@pytest.mark.parametrize(
    "name", ["eventname", "actor.email", "debugContext", "client.ipaddress.x", "UserId", "a..b"]
)
def test_unknown_okta_fields_are_marked(name: str) -> None:
    assert okta_field(name) == UNKNOWN_PREFIX + name


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("eventSource", "raw.Workload"),
        ("eventName", "m365.eventName"),  # Operation, or an alert record's Name
        ("Operation", "activity_type"),
        ("status", "outcome"),
        ("ClientIP", "src_ip"),
        ("UserId", "raw.UserId"),
        ("Workload", "raw.Workload"),
        ("Parameters.ForwardTo", "details.param.ForwardTo"),
        ("ExtendedProperties.UserAgent", "details.ext.UserAgent"),
        ("ModifiedProperties.Role.DisplayName.NewValue", "details.modified.Role.DisplayName.new"),
    ],
)
def test_m365_fields(name: str, field: str) -> None:
    assert m365_field(name) == field


@pytest.mark.parametrize(
    "name", ["eventtype", "userid", "Parameters", "ModifiedProperties.X", "Bad-Name"]
)
def test_unknown_m365_fields_are_marked(name: str) -> None:
    assert m365_field(name) == UNKNOWN_PREFIX + name


def test_okta_rule_matches_the_real_privilege_grant(tmp_path: Path) -> None:
    record = sample("okta/cribl-okta-rest-trial-org.jsonl", "user.account.privilege.grant")
    policy = policy_of(
        tmp_path,
        {
            "selection": {
                "eventtype": "user.account.privilege.grant",
                "outcome.result": "success",  # Sigma compares text without regard to case
                "debugContext.debugData.privilegeGranted|contains": "super",
                "target.alternateId|endswith": "@acme.com",
                "legacyeventtype|startswith": "core.user.admin",
            },
            "condition": "selection",
        },
    )
    assert policy.matches(okta(record))
    other = copy.deepcopy(record)
    other["debugContext"]["debugData"]["privilegeGranted"] = "Read-only administrator"
    assert not policy.matches(okta(other))
    other = copy.deepcopy(record)
    other["target"][0]["alternateId"] = "jdoe@other.org"
    assert not policy.matches(okta(other))


def test_okta_booleans_and_numbers_match_their_json_and_text_forms(tmp_path: Path) -> None:
    record = sample("okta/cribl-okta-rest-trial-org.jsonl", "system.brand.create")
    assert record["securityContext"]["isProxy"] is False
    assert record["securityContext"]["asNumber"] == 14618
    for proxy, asn in (("'false'", "14618"), ("false", "'14618'")):
        text = (
            "detection:\n  selection:\n"
            f"    securityContext.isProxy: {proxy}\n    securityContext.asNumber: {asn}\n"
            "  condition: selection\n"
        )
        (tmp_path / "rules").mkdir(exist_ok=True)
        assert policy_of(tmp_path, text).matches(okta(record)), (proxy, asn)
    assert not policy_of(
        tmp_path, {"sel": {"securityContext.isProxy": True}, "condition": "sel"}
    ).matches(okta(record))


def test_okta_rule_does_not_match_office365(tmp_path: Path) -> None:
    record = sample("office365/beats-01-exchange-admin.jsonl", "Set-Mailbox")
    policy = policy_of(tmp_path, {"sel": {"eventtype": "Set-Mailbox"}, "condition": "sel"})
    assert not policy.matches(o365(record))


def test_m365_rule_reads_parameters_in_both_shapes(tmp_path: Path) -> None:
    listed = sample("office365/beats-01-exchange-admin.jsonl", "Set-Mailbox")
    assert isinstance(listed["Parameters"], list)
    stringed = sample("office365/edgecase-beats-str-params.jsonl", "-PageSize")
    assert isinstance(stringed["Parameters"], str)
    policy = policy_of(
        tmp_path,
        {
            "selection": {
                "eventSource": "exchange",
                "eventName": "set-mailbox",
                "status": "success",  # ResultStatus "True"
                "Parameters.Identity|contains": "Microsoft Exchange Hosted Organizations",
            },
            "condition": "selection",
        },
        product="m365",
        service="exchange",
    )
    assert policy.matches(o365(listed))
    assert o365(listed).outcome_detail == "True"
    page = policy_of(
        tmp_path,
        {"sel": {"Parameters.PageSize": 100, "UserType": 3}, "condition": "sel"},
        product="m365",
        service="exchange",
    )
    assert page.matches(o365(stringed))  # "100" parsed from the PowerShell text
    assert not page.matches(o365(listed))


def test_m365_service_limits_the_workload(tmp_path: Path) -> None:
    record = sample("office365/beats-01-exchange-admin.jsonl", "Set-Mailbox")
    sharepoint = policy_of(
        tmp_path, {"sel": {"Operation": "Set-Mailbox"}, "condition": "sel"},
        product="m365", service="sharepoint",
    )  # fmt: skip
    audit = policy_of(
        tmp_path, {"sel": {"Operation": "Set-Mailbox"}, "condition": "sel"},
        product="m365", service="audit",
    )  # fmt: skip
    assert not sharepoint.matches(o365(record))
    assert audit.matches(o365(record))


def test_m365_client_ip_is_the_address_without_its_port(tmp_path: Path) -> None:
    record = sample("office365/beats-08-azuread.jsonl", "ClientIP")
    activity = o365(record)
    assert activity.src_ip
    policy = policy_of(
        tmp_path,
        {"sel": {"ClientIP|cidr": f"{activity.src_ip}/32"}, "condition": "sel"},
        product="m365",
        service="audit",
    )
    assert policy.matches(activity)


def test_sigmahq_threat_management_shape_matches_a_real_alert_record(tmp_path: Path) -> None:
    """SigmaHQ's m365 threat_management rules name the alert in ``eventName``; on the
    record it is ``Name`` (Operation is AlertEntityGenerated)."""
    record = sample("office365/beats-40-sec-comp-alerts.jsonl", "Elevation of Exchange admin")
    detection = {
        "selection": {
            "eventSource": "SecurityComplianceCenter",
            "eventName": "Elevation of Exchange admin privilege",
            "status": "success",  # ResultStatus "Succeeded"
        },
        "condition": "selection",
    }
    policy = policy_of(tmp_path, detection, product="m365", service="threat_management")
    assert policy.matches(o365(record))
    by_operation = dict(detection, selection={"eventName": "AlertEntityGenerated"})
    assert policy_of(tmp_path, by_operation, product="m365", service="audit").matches(o365(record))
    by_name = dict(detection, selection={"eventName": "Elevation of Exchange admin privilege"})
    name_only = policy_of(tmp_path, by_name, product="m365", service="audit")
    assert name_only.matches(o365(record))
    other = dict(record, Workload="Exchange", Operation="Set-Mailbox")
    assert not name_only.matches(o365(other))  # a Name elsewhere is not an alert name
