"""Builders for anomaly-detector tests: activities as the normalizers make them, with the
enrichment of a named city."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opencasb.clock import FakeClock
from opencasb.detect.anomaly import AnomalyEngine, AnomalySettings, AnomalyState
from opencasb.detect.engine import Finding, Observed
from opencasb.enrich import Enrichment
from opencasb.model.activity import Activity, Actor, Category, Outcome

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
DAY = 86_400.0
HOUR = 3_600.0

CITIES: dict[str, tuple[str, float, float]] = {
    "Paris": ("FR", 48.8566, 2.3522),
    "Brussels": ("BE", 50.8503, 4.3517),
    "Lyon": ("FR", 45.764, 4.8357),
    "Lagos": ("NG", 6.5244, 3.3792),
    "Madrid": ("ES", 40.4168, -3.7038),
    "New York": ("US", 40.7128, -74.006),
    "Sydney": ("AU", -33.8688, 151.2093),
    "Moscow": ("RU", 55.7558, 37.6173),
}


def where(city: str, *tags: str, coarse: bool = False) -> Enrichment:
    code, lat, lon = CITIES[city]
    return Enrichment(
        country_code=code, city=None if coarse else city, lat=lat, lon=lon, coarse=coarse,
        geo_source="app", ip_tags=tuple(sorted(tags)),
    )  # fmt: skip


def okta(
    at: float,
    email: str = "ana@example.com",
    event: str = "user.session.start",
    *,
    outcome: Outcome = Outcome.SUCCESS,
    ip: str = "198.51.100.10",
) -> Activity:
    """An Okta activity ``at`` seconds after :data:`T0`."""
    return Activity(
        time=T0 + timedelta(seconds=at), app="okta",
        source_event_id=f"{event}-{email}-{at}", activity_type=event,
        category=Category.LOGON, action="sign-in", outcome=outcome,
        actor=Actor(id=email.split("@")[0], email=email, type="User"), raw={}, src_ip=ip,
    )  # fmt: skip


def o365(at: float, email: str = "ana@example.com", op: str = "UserLoggedIn") -> Activity:
    return Activity(
        time=T0 + timedelta(seconds=at), app="office365",
        source_event_id=f"{op}-{email}-{at}", activity_type=op, category=Category.LOGON,
        action="sign-in",
        outcome=Outcome.FAILURE if op == "UserLoginFailed" else Outcome.SUCCESS,
        actor=Actor(id=email, email=email.upper(), type="User"), raw={}, src_ip="203.0.113.5",
    )  # fmt: skip


def history(
    days: int = 8, users: tuple[str, ...] = ("ana@example.com",), city: str = "Paris"
) -> list[tuple[Activity, Enrichment]]:
    """One sign-in a day per user from ``city``, for ``days`` days from T0."""
    return [(okta(d * DAY, u), where(city)) for d in range(days) for u in users]


def run(
    items: list[tuple[Activity, Enrichment]],
    settings: AnomalySettings | None = None,
    state: AnomalyState | None = None,
) -> tuple[list[Finding], AnomalyState]:
    engine = AnomalyEngine(settings, clock=FakeClock(T0 + timedelta(days=30)))
    observed = [(Observed(i + 1, a), e) for i, (a, e) in enumerate(items)]
    return engine.evaluate(observed, state or AnomalyState())


def ids(findings: list[Finding], detector: str) -> list[tuple[int, ...]]:
    return [f.activity_ids for f in findings if f.policy_id == detector]
