"""The Okta inventory against the emulator: what it returns and what it costs in requests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from opencasb.apps.okta.connector import OktaConnector
from opencasb.clock import FakeClock
from opencasb.http.options import HttpOptions
from opencasb.sandbox.okta import generate_rsa_keypair
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.transport import SyncASGITransport


class Counting(httpx.BaseTransport):
    """Forwards to the emulator and counts requests per path, ids replaced by ``{id}``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        parts = ["{id}" if p.startswith("00") else p for p in request.url.path.split("/")]
        self.paths["/".join(parts)] += 1
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture
def org(keys: tuple[str, str]) -> Iterator[tuple[OktaSandbox, Counting, FakeClock]]:
    clock = FakeClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    sb = build_okta_sandbox(seed=7, size=400, days=1, clock=clock, oauth_key_pem=keys)
    inner = SyncASGITransport(sb.app)
    yield sb, Counting(inner), clock
    inner.close()


def _connector(sb: OktaSandbox, transport: Counting, clock: FakeClock) -> OktaConnector:
    http = HttpOptions(transport=transport, clock=clock)
    return OktaConnector({"domain": "acme.okta.test"}, {"token": sb.credentials.token}, http=http)


def test_roles_are_asked_for_admins_only_never_per_user(
    org: tuple[OktaSandbox, Counting, FakeClock],
) -> None:
    sb, transport, clock = org
    inv = _connector(sb, transport, clock).inventory()
    state = sb.state
    admins = {uid: sorted(r) for uid, r in state.admin_roles.items() if r}
    assert 0 < len(admins) < len(state.users) / 10
    got = {a.id: list(a.admin_roles) for a in inv.accounts if a.is_admin}
    assert got == admins  # every role holder, whatever their status
    assert {a.id for a in inv.accounts} == set(state.users)
    paths = transport.paths
    assert paths["/api/v1/users/{id}/roles"] == len(admins)
    assert paths["/api/v1/iam/assignees/users"] == 1
    assert paths["/api/v1/groups/{id}/users"] == len(state.groups)  # 1,000 members a page
    assert sum(paths.values()) <= 2 + len(state.users) // 200 + 2 + len(admins) + len(state.groups)
    members = {g.id: set(g.member_ids) for g in inv.groups}
    assert members == {gid: set(uids) for gid, uids in state.group_members.items()}


def test_role_holders_are_followed_across_pages(
    org: tuple[OktaSandbox, Counting, FakeClock],
) -> None:
    sb, transport, clock = org
    state = sb.state
    for uid in list(state.users)[:250]:
        state.admin_roles.setdefault(uid, ["REPORT_ADMIN"])
    inv = _connector(sb, transport, clock).inventory()
    assert sum(a.is_admin for a in inv.accounts) == sum(1 for r in state.admin_roles.values() if r)
    assert transport.paths["/api/v1/iam/assignees/users"] == 3  # 100 a page


class Refusing(Counting):
    """As :class:`Counting`, but role assignments answer 403 (an admin without the right)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v1/iam/"):
            self.paths["refused"] += 1
            body = {"errorCode": "E0000006", "errorSummary": "You do not have permission"}
            return httpx.Response(403, json=body, request=request)
        return super().handle_request(request)


def test_a_token_that_may_not_read_roles_gets_an_inventory_without_roles(
    org: tuple[OktaSandbox, Counting, FakeClock],
) -> None:
    sb, transport, clock = org
    refusing = Refusing(transport.inner)
    inv = _connector(sb, refusing, clock).inventory()
    assert len(inv.accounts) == len(sb.state.users) and not any(a.is_admin for a in inv.accounts)
    assert refusing.paths["refused"] == 1 and refusing.paths["/api/v1/users/{id}/roles"] == 0
