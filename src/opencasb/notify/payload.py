"""What a notifier sends: an alert event with the entities it concerns, as JSON.

The JSON document (the webhook's body; also the source of the CEF and e-mail renderings)::

    {"schema": "opencasb.alert-event/1",
     "event_id": "<32 hex>",      # idempotency key: the same in every retry and re-delivery
     "sequence": 42,              # the event's order in this store's outbox
     "event": "opened",           # opened | extended | closed | commented | test
     "event_time": "<ISO 8601>",
     "test": false,
     "alert": {"id", "title", "description", "severity", "category", "mitre_tactic",
               "policy_id", "status", "resolution", "historical", "first_time", "last_time",
               "created_at", "updated_at", "comment", "comment_author",
               "entities": {"users": [...], "ips": [...], "apps": [...], "instances": [...]},
               "evidence": [activity ids: the first 500], "evidence_count": 1234}}

Entities come from the evidence activities still stored when the event is sent (the alert's
own user always); a re-delivery after retention pruned them names fewer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opencasb.model.activity import Activity
from opencasb.store.outbox import AlertEvent

__all__ = ["SCHEMA", "Entities", "Outgoing", "entities_of", "test_event"]

SCHEMA = "opencasb.alert-event/1"
MAX_ENTITIES = 50  # per kind: an alert over 10,000 downloads names its first 50 addresses


@dataclass(frozen=True, slots=True)
class Entities:
    users: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()

    def as_json(self) -> dict[str, list[str]]:
        return {
            "users": list(self.users),
            "ips": list(self.ips),
            "apps": list(self.apps),
            "instances": list(self.instances),
        }


def _add(seen: dict[str, None], value: str | None) -> None:
    if value and len(seen) < MAX_ENTITIES:
        seen.setdefault(value, None)


def entities_of(alert: Mapping[str, Any], activities: Iterable[Activity]) -> Entities:
    """The users, addresses, apps and instances of the alert and its evidence, in order of
    first appearance (the alert's user first)."""
    users: dict[str, None] = {}
    ips: dict[str, None] = {}
    apps: dict[str, None] = {}
    instances: dict[str, None] = {}
    _add(users, str(alert.get("entity") or "") or None)
    for a in activities:
        _add(users, a.actor.email or a.actor.name or a.actor.id)
        _add(ips, a.src_ip)
        _add(apps, a.app)
        _add(instances, a.instance)
    return Entities(tuple(users), tuple(ips), tuple(apps), tuple(instances))


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event as a sender sends it; ``test`` marks ``opencasb notifiers test``."""

    event: AlertEvent
    entities: Entities
    test: bool = False

    @property
    def kind(self) -> str:
        return "test" if self.test else self.event.kind

    def as_json(self) -> dict[str, Any]:
        a = self.event.alert
        return {
            "schema": SCHEMA,
            "event_id": self.event.key,
            "sequence": self.event.id,
            "event": self.kind,
            "event_time": self.event.created_at.isoformat(),
            "test": self.test,
            "alert": {
                "id": a.get("id"),
                "title": a.get("title"),
                "description": a.get("explanation"),
                "severity": a.get("severity"),
                "category": a.get("category"),
                "mitre_tactic": a.get("tactic"),
                "policy_id": a.get("policy_id"),
                "status": a.get("status"),
                "resolution": a.get("resolution"),
                "historical": bool(a.get("historical")),
                "first_time": a.get("first_time"),
                "last_time": a.get("last_time"),
                "created_at": a.get("created_at"),
                "updated_at": a.get("updated_at"),
                "comment": a.get("comment"),
                "comment_author": a.get("comment_author"),
                "entities": self.entities.as_json(),
                "evidence": list(a.get("evidence") or []),
                "evidence_count": a.get("evidence_count", len(a.get("evidence") or [])),
            },
        }


def test_event(now: datetime) -> Outgoing:
    """A made-up, clearly labelled alert for ``opencasb notifiers test``."""
    t = now.isoformat()
    alert: dict[str, Any] = {
        "id": "test-" + uuid.uuid4().hex[:12],
        "policy_id": "opencasb.test",
        "title": "OpenCASB test notification",
        "severity": "informational",
        "category": "threat_detection",
        "tactic": None,
        "entity": "test@example.invalid",
        "explanation": "A test sent by 'opencasb notifiers test'; no activity raised it.",
        "evidence": [],
        "evidence_count": 0,
        "first_time": t,
        "last_time": t,
        "historical": False,
        "status": "open",
        "resolution": None,
        "created_at": t,
        "updated_at": t,
        "comment": None,
        "comment_author": None,
    }
    event = AlertEvent(0, uuid.uuid4().hex, str(alert["id"]), "opened", alert, now)
    return Outgoing(event, Entities(users=("test@example.invalid",)), test=True)
