"""A store with something of everything the API shows, and the secrets it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tests.store.conftest import make_activity
from tests.web.conftest import T0, Web

from opencasb.detect.stage import store_policy
from opencasb.detect.templates import template
from opencasb.enrich import Enricher, parse_ip_range
from opencasb.model.activity import Actor, Outcome
from opencasb.model.inventory import Account, Group
from opencasb.store import PageWrite
from opencasb.store.detection import AlertWrite

OKTA_TOKEN = "00SeededOktaTokenNeverShown0000000000000001"
O365_SECRET = "seeded~o365~client~secret~never~shown~0002"
WEBHOOK_KEY = "seeded-webhook-signing-key-never-shown-0003"
HOSTILE = "<script>alert(1)</script>\x1b[2J\u202e"


@dataclass
class Seeded:
    secrets: list[str] = field(default_factory=list)
    alert_id: str = ""


def seed(web: Web, n: int = 120) -> Seeded:
    """Two instances with credentials, a webhook notifier with its signing key, ``n`` Okta
    activities (some failed, one hostile), a quarantined record, inventory, a policy and an
    alert."""
    store = web.store
    out = Seeded(secrets=[OKTA_TOKEN, O365_SECRET, WEBHOOK_KEY])
    store.notifications.add(
        "webhook", "soar", {"url": "https://soar.example.com/hook"}, {"signing_key": WEBHOOK_KEY}
    )
    okta = store.add_instance(
        "okta", "okta", {"domain": "acme.okta.com", "auth": "ssws"}, {"token": OKTA_TOKEN}
    )
    store.add_instance(
        "office365",
        "o365",
        {"tenant_id": "11111111-2222-3333-4444-555555555555", "client_id": "c", "auth": "secret"},
        {"client_secret": O365_SECRET},
    )
    acts = [
        make_activity(
            i,
            outcome=Outcome.FAILURE if i % 10 == 0 else Outcome.SUCCESS,
            activity_type="user.session.start" if i % 3 else "user.account.update_password",
        )
        for i in range(n)
    ]
    acts.append(
        make_activity(
            n,
            actor=Actor(id="00uX", name=HOSTILE, email="mallory@example.com", type="User"),
            user_agent=HOSTILE,
            src_ip="203.0.113.9",
            raw={"uuid": "hostile", "displayMessage": HOSTILE},
        )
    )
    # Enriched at ingest with a range the store lacks: the stored enrichment says the hostile
    # activity's address is "corporate", but the API and pages show the tags of the ranges
    # stored now (none), as searches match them.
    tagged = Enricher(ip_ranges=[parse_ip_range("203.0.113.9", "corporate")])
    store.save_pages(
        [
            PageWrite.of(
                okta.id,
                "logs",
                acts,
                {"c": 1},
                rejected=[({"bad": HOSTILE}, "no time")],
                enricher=tagged,
            )
        ]
    )
    store.replace_inventory(
        okta.id,
        [
            Account("00u1", "user1@example.com", "User 1", "ACTIVE", True, ("SUPER_ADMIN",)),
            Account("00u2", "user2@example.com", "User 2", "SUSPENDED"),
        ],
        [Group("00g1", "Admins", "OKTA_GROUP", "admins", ("00u1",))],
    )
    store_policy(store, template("failed-sign-ins"))
    out.alert_id = "alert-0001"
    store.detection.commit_stage(
        "test",
        expected=None,
        cursor=5,
        state="{}",
        new_alerts=[
            AlertWrite(
                out.alert_id,
                "failed-sign-ins",
                "Multiple failed sign-in attempts",
                "medium",
                "threat_detection",
                "credential_access",
                "user0@example.com",
                "11 failed sign-ins",
                (1, 2, 3),
                T0,
                T0 + timedelta(seconds=3),
                False,
            )
        ],
        disabled={},
    )
    return out
