"""End to end on a real store (SQLite and PostgreSQL): the shipped demo rules, loaded from
their folder, raise alerts from stored activities through the detection stage; the alert
names the rule and its file. ``run_detection`` takes the rules from ``sigma_rules_dir``."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from tests.detect.sigma.helpers import o365, okta, sample

from opencasb.cli.alerts_cmd import run_detection
from opencasb.cli.demo import DEMO_SIGMA_DIR
from opencasb.clock import FakeClock
from opencasb.config import Settings
from opencasb.detect.sigma import load_rules, load_sigma_policies
from opencasb.detect.stage import DetectionStage
from opencasb.model.activity import Activity
from opencasb.store import PageWrite, Store

GRANT = "9c14d59b-46d6-4971-9ee2-4a4bb49ce5d9"
FORWARDING = "55841a3f-f09d-4cbf-b73d-f6fb9cd79a96"


def _forwarding_record() -> dict[str, Any]:
    record = copy.deepcopy(sample("office365/beats-01-exchange-admin.jsonl", "Set-Mailbox"))
    record["Id"] = "5e1d0000-0000-4000-8000-000000000001"
    record["Parameters"] = [
        {"Name": "Identity", "Value": "ann@contoso.example"},
        {"Name": "ForwardingSmtpAddress", "Value": "smtp:ann@mail.example.net"},
    ]
    return record


def save_page(store: Store, instance: int, feed: str, acts: list[Activity], cur: Any) -> None:
    store.save_pages([PageWrite.of(instance, feed, acts, cur)])


def _store_samples(store: Store) -> tuple[int, int]:
    okta_id = store.add_instance("okta", "acme", {}, {}).id
    o365_id = store.add_instance("office365", "contoso", {}, {}).id
    grant = sample("okta/cribl-okta-rest-trial-org.jsonl", "user.account.privilege.grant")
    brand = sample("okta/cribl-okta-rest-trial-org.jsonl", "system.brand.create")
    save_page(store, okta_id, "logs", [okta(brand), okta(grant)], {"n": 1})
    plain = sample("office365/beats-01-exchange-admin.jsonl", "Set-Mailbox")
    save_page(store, o365_id, "Audit.Exchange", [o365(plain), o365(_forwarding_record())], {"n": 1})
    return okta_id, o365_id


def test_demo_rules_raise_alerts_from_stored_activities(store: Store, clock: FakeClock) -> None:
    _store_samples(store)
    loaded = load_rules(DEMO_SIGMA_DIR)
    assert not loaded.problems and len(loaded.rules) >= 5
    stage = DetectionStage(store, clock, anomaly=None, extra_policies=loaded.policies)
    result = stage.run_until_caught_up()
    assert result.alerts == 2
    alerts = {a.policy_id: a for a in store.detection.list_alerts()}
    assert set(alerts) == {f"sigma.{GRANT}", f"sigma.{FORWARDING}"}
    grant = alerts[f"sigma.{GRANT}"]
    assert grant.title.startswith("Sigma: Okta Administrator Role Assigned")
    assert grant.severity == "high" and grant.tactic == "privilege_escalation"
    assert f"Sigma rule {GRANT} (okta/okta_admin_role_assigned.yml)" in grant.explanation
    assert "References: https://help.okta.com" in grant.explanation
    forwarding = alerts[f"sigma.{FORWARDING}"]
    assert "m365/m365_mailbox_forwarding_smtp.yml" in forwarding.explanation
    found = store.detection.activities_by_id(list(forwarding.evidence))
    (activity,) = found.values()
    assert activity.source_event_id == "5e1d0000-0000-4000-8000-000000000001"
    # nothing twice: a second run reads nothing new
    assert (
        not DetectionStage(store, clock, anomaly=None, extra_policies=loaded.policies)
        .run_once()
        .committed
    )


def test_run_detection_takes_the_configured_rules_and_logs_problems_once(
    store: Store,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for path in DEMO_SIGMA_DIR.rglob("okta_admin_role_assigned.yml"):
        (folder / path.name).write_text(path.read_text())
    (folder / "broken.yml").write_text("title: broken\ndetection: [\n")
    settings = Settings(data_dir=tmp_path, sigma_rules_dir=folder, anomaly_detection=False)
    _store_samples(store)
    with caplog.at_level(logging.WARNING, logger="opencasb.detect.sigma"):
        assert run_detection(store, clock, settings=settings) == 1
        assert len(load_sigma_policies(settings)) == 1  # unchanged files: not read again
    warned = [
        r.getMessage() for r in caplog.records if "Sigma rule not evaluated" in r.getMessage()
    ]
    assert len(warned) == 1 and "broken.yml:3" in warned[0] and "YAML error" in warned[0]
    (alert,) = store.detection.list_alerts()
    assert alert.policy_id == f"sigma.{GRANT}"


def test_no_folder_no_sigma_policies(tmp_path: Path) -> None:
    assert load_sigma_policies(Settings(data_dir=tmp_path)) == []


def test_a_stored_policy_of_the_same_id_wins(store: Store, clock: FakeClock) -> None:
    import dataclasses

    from opencasb.detect.stage import store_policy
    from opencasb.detect.templates import template

    _store_samples(store)
    loaded = load_rules(DEMO_SIGMA_DIR)
    sigma_grant = next(p for p in loaded.policies if p.id == f"sigma.{GRANT}")
    stored = dataclasses.replace(template("api-token-created"), id=sigma_grant.id, enabled=True)
    store_policy(store, stored)
    stage = DetectionStage(store, clock, anomaly=None, extra_policies=loaded.policies)
    stage.run_until_caught_up()  # no "policy ids must be unique" failure
    titles = {a.title.split(":")[0] for a in store.detection.list_alerts()}
    assert "Sigma" in titles  # the other Sigma rules still ran
    assert not any(
        a.policy_id == sigma_grant.id and a.title.startswith("Sigma")
        for a in store.detection.list_alerts()
    )
