"""Small builders for detection tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opencasb.detect.engine import Observed
from opencasb.enrich import Enrichment
from opencasb.errors import StoreError
from opencasb.model.activity import Activity, Actor, Category, Outcome, Target
from opencasb.store import detection as det_module

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


class CommitCrasher:
    """While it is on, every other commit of the detection stages fails before it happens
    (what a SIGKILL between a pass's evaluation and its commit loses); ``calls`` counts the
    commits tried. :meth:`stop` puts the real commit back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._monkeypatch = monkeypatch
        self._real = det_module.commit_stages
        monkeypatch.setattr(det_module, "commit_stages", self._commit)

    def _commit(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        if self.calls % 2:
            raise StoreError("killed before the commit")
        return bool(self._real(*args, **kwargs))

    def stop(self) -> None:
        self._monkeypatch.setattr(det_module, "commit_stages", self._real)
