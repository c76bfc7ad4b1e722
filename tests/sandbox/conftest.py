"""Fixtures for the Okta emulator tests: a small hand-built org and an in-process client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from opencasb.clock import FakeClock
from opencasb.sandbox.okta import OktaSeed, OktaState, create_okta_app
from opencasb.sandbox.okta.state import iso_ms
from opencasb.sandbox.transport import SyncASGITransport

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BASE = "https://org.okta.test"
ADMIN_TOKEN = "ssws-admin-secret"
READONLY_TOKEN = "ssws-readonly-secret"
EVENT_TYPES = [
    "user.session.start",
    "user.authentication.sso",
    "policy.evaluate_sign_on",
    "user.session.end",
    "group.user_membership.add",
]


def make_user(n: int, status: str = "ACTIVE", first: str = "User") -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.000Z"
    login = f"{first.lower()}{n}@example.com"
    return {
        "id": f"00u{n:017d}",
        "status": status,
        "created": stamp,
        "activated": stamp,
        "statusChanged": stamp,
        "lastLogin": None,
        "lastUpdated": f"2026-0{1 + n % 9}-01T00:00:00.000Z",
        "passwordChanged": stamp,
        "type": {"id": "otyDEFAULT0000000000"},
        "profile": {"login": login, "email": login, "firstName": first, "lastName": f"N{n}"},
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
    }


def make_event(
    n: int,
    published: datetime,
    *,
    event_type: str | None = None,
    actor: str = "00u1",
    targets: list[str] | None = None,
    result: str = "SUCCESS",
    ip: str = "10.0.0.1",
) -> dict[str, Any]:
    return {
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "published": iso_ms(published),
        "eventType": event_type or EVENT_TYPES[n % len(EVENT_TYPES)],
        "version": "0",
        "severity": "INFO" if n % 7 else "WARN",
        "displayMessage": f"Event number {n}",
        "actor": {
            "id": actor,
            "type": "User",
            "alternateId": "alice@example.com",
            "displayName": "Alice Smith-Jones",
            "detailEntry": None,
        },
        "client": {
            "ipAddress": ip,
            "zone": "null",
            "geographicalContext": {"city": "Paris", "country": "France"},
        },
        "outcome": {"result": result, "reason": None},
        "target": [{"id": t, "type": "User"} for t in (targets or [])] or None,
        "transaction": {"type": "WEB", "id": f"tx{n}", "detail": {}},
        "debugContext": {"debugData": {"url": f"/app/{n}", "requestUri": f"/app/{n}"}},
    }


def build_seed(n_events: int = 300, *, late_every: int = 0) -> OktaSeed:
    """Five users, two groups and ``n_events`` events one minute apart, ending at NOW - 1 min.

    Every ``late_every``-th event is persisted 30 minutes after it was published.
    """
    users = [
        make_user(1, first="Alice"),
        make_user(2),
        make_user(3, "SUSPENDED"),
        make_user(4, "DEPROVISIONED"),
        make_user(5, "LOCKED_OUT"),
        make_user(6, "STAGED"),
        make_user(7, "PROVISIONED"),
    ]
    groups = [
        {
            "id": f"00g{n:017d}",
            "created": "2026-01-01T00:00:00.000Z",
            "lastUpdated": "2026-01-01T00:00:00.000Z",
            "lastMembershipUpdated": "2026-01-01T00:00:00.000Z",
            "objectClass": ["okta:user_group"],
            "type": t,
            "profile": {"name": name, "description": ""},
        }
        for n, name, t in [(1, "Everyone", "BUILT_IN"), (2, "Engineering", "OKTA_GROUP")]
    ]
    memberships = {groups[0]["id"]: [u["id"] for u in users], groups[1]["id"]: [users[1]["id"]]}
    events = []
    start = NOW - timedelta(minutes=n_events)
    for n in range(n_events):
        published = start + timedelta(minutes=n)
        late = late_every and n % late_every == 0
        events.append(
            (
                make_event(n, published, targets=[f"00u{n % 3}"]),
                published + timedelta(minutes=30 if late else 0, milliseconds=5),
            )
        )
    return OktaSeed(
        users,
        groups,
        memberships,
        {users[0]["id"]: ["SUPER_ADMIN"], users[1]["id"]: ["READ_ONLY_ADMIN"]},
        events,
    )


@dataclass
class Org:
    clock: FakeClock
    state: OktaState
    app: Any
    client: httpx.Client

    def get(self, path: str, token: str = ADMIN_TOKEN, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params, headers={"Authorization": f"SSWS {token}"})

    def post(self, path: str, token: str = ADMIN_TOKEN) -> httpx.Response:
        return self.client.post(path, headers={"Authorization": f"SSWS {token}"})


def make_org(seed: OktaSeed | None = None, **app_kwargs: Any) -> Iterator[Org]:
    clock = FakeClock(NOW)
    state = OktaState.from_seed(seed or build_seed(), clock=clock)
    state.add_api_token(
        ADMIN_TOKEN, owner_user_id="00u00000000000000001", token_id="00Tadmin000000000000"
    )
    state.add_api_token(
        READONLY_TOKEN,
        owner_user_id="00u00000000000000002",
        permission="read_only",
        token_id="00Treadonly000000000",
    )
    app = create_okta_app(state, **app_kwargs)
    with httpx.Client(transport=SyncASGITransport(app), base_url=BASE) as client:
        yield Org(clock, state, app, client)


@pytest.fixture
def org() -> Iterator[Org]:
    yield from make_org()


@pytest.fixture
def org_factory() -> Iterator[Callable[..., Org]]:
    """``org_factory(seed=None, **create_okta_app_kwargs)``; closed at teardown."""
    gens: list[Iterator[Org]] = []

    def factory(seed: OktaSeed | None = None, **kwargs: Any) -> Org:
        gen = make_org(seed, **kwargs)
        gens.append(gen)
        return next(gen)

    yield factory
    for gen in gens:
        gen.close()


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The module's builders and constants, for test modules (conftest is not importable)."""
    return SimpleNamespace(
        NOW=NOW,
        BASE=BASE,
        ADMIN_TOKEN=ADMIN_TOKEN,
        READONLY_TOKEN=READONLY_TOKEN,
        make_user=make_user,
        make_event=make_event,
        build_seed=build_seed,
        links=links,
    )


def links(response: httpx.Response) -> dict[str, str]:
    """rel -> URL from the response's link header lines."""
    out: dict[str, str] = {}
    for value in response.headers.get_list("link"):
        url, rel = value.split(">; rel=")
        out[rel.strip('"')] = url.lstrip("<")
    return out
