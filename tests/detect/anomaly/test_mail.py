"""Suspicious inbox rules and external forwarding, against the organisation's own domains."""

from __future__ import annotations

from datetime import timedelta

from tests.detect.anomaly.helpers import T0, history, run, where

from opencasb.detect.engine import Finding
from opencasb.model.activity import Activity, Actor, Category, Outcome

SF = "anomaly.suspicious_forwarding"


def exchange(operation: str, params: dict[str, str], email: str = "ana@example.com") -> Activity:
    return Activity(
        time=T0 + timedelta(days=9), app="office365", source_event_id=operation,
        activity_type=operation, category=Category.MAIL, action=operation,
        outcome=Outcome.SUCCESS, actor=Actor(id=email, email=email, type="User"), raw={},
        details={f"param.{k}": v for k, v in params.items()},
    )  # fmt: skip


def found(activity: Activity) -> list[Finding]:
    users = ("ana@example.com", "bo@example.org")
    items = [*history(users=users), (activity, where("Paris"))]
    return [f for f in run(items)[0] if f.policy_id == SF]


def test_rule_forwarding_outside_and_deleting() -> None:
    (f,) = found(
        exchange("New-InboxRule", {
            "ForwardTo": "ana.inv@gmail.com", "DeleteMessage": "True",
            "SubjectOrBodyContainsWords": "invoice;payment",
        })
    )  # fmt: skip
    assert f.severity == "high" and f.category == "dlp"
    assert f.explanation == (
        "ana@example.com set an inbox rule that forwards mail to ana.inv@gmail.com, outside "
        "the organisation's domains (example.com, example.org) and deletes the messages, for "
        "messages containing 'invoice;payment'"
    )


def test_forwarding_to_a_colleague_in_a_sister_domain_is_internal() -> None:
    assert found(exchange("Set-Mailbox", {"ForwardingSmtpAddress": "smtp:bo@example.org"})) == []
    (f,) = found(exchange("Set-Mailbox", {"ForwardingSmtpAddress": "smtp:ana@northwind.example"}))
    assert "forwards mail to ana@northwind.example" in f.explanation


def test_rule_hiding_mail_is_suspicious_and_an_ordinary_rule_is_not() -> None:
    (f,) = found(exchange("New-InboxRule", {"MoveToFolder": "RSS Feeds", "From": "it@example.com"}))
    assert f.severity == "medium" and f.explanation.endswith("moves the messages to RSS Feeds")
    assert found(exchange("New-InboxRule", {"MoveToFolder": "Jira", "MarkAsRead": "True"})) == []
