"""Small builders for detection tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opencasb.detect.engine import Observed
from opencasb.enrich import Enrichment
from opencasb.model.activity import Activity, Actor, Category, Outcome, Target

T0 = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


def act(
    activity_type: str = "user.session.start",
    *,
    at: float = 0.0,
    app: str = "okta",
    email: str | None = "ana@example.com",
    outcome: Outcome = Outcome.SUCCESS,
    category: Category = Category.LOGON,
    ip: str | None = "203.0.113.9",
    details: dict[str, Any] | None = None,
    targets: tuple[Target, ...] = (),
    raw: dict[str, Any] | None = None,
    actor_id: str | None = None,
    event_id: str = "",
) -> Activity:
    """An activity ``at`` seconds after :data:`T0`."""
    return Activity(
        time=T0 + timedelta(seconds=at),
        app=app,
        source_event_id=event_id or f"{activity_type}-{at}",
        activity_type=activity_type,
        category=category,
        action=activity_type,
        outcome=outcome,
        actor=Actor(id=actor_id or (email or "").split("@")[0] or None, email=email, type="User"),
        raw=raw or {},
        targets=targets,
        src_ip=ip,
        details=details or {},
    )


def observe(
    *activities: Activity, first_id: int = 1, tags: frozenset[str] = frozenset()
) -> list[Observed]:
    """Observed activities with ids from ``first_id``, their addresses tagged ``tags``."""
    enrichment = Enrichment(ip_tags=tuple(sorted(tags)))
    return [Observed(first_id + i, a, enrichment) for i, a in enumerate(activities)]
