"""Microsoft Graph subset: listing with $select/$top/nextLink, disabling users (incl. the
on-premises-synced 400), revoking sessions, throttling, and the audit records writes leave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from tests.sandbox.o365_conftest_helpers import NOW, TENANT_ID, Tenant, make_tenant

from opencasb.sandbox.office365 import Faults, Limits


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    yield from make_tenant()


def _graph_error(r, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert {"date", "request-id", "client-request-id"} <= set(err["innerError"])
    return err


def test_users_paging_with_top_and_select(tenant):
    tok = tenant.token("https://graph.microsoft.com")
    r = tenant.graph("GET", "users", tok)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json;odata.metadata=minimal")
    body = r.json()
    assert body["@odata.context"] == "https://o365.test/v1.0/$metadata#users"
    first = body["value"][0]
    # Default properties only: accountEnabled needs $select.
    assert "userPrincipalName" in first and "accountEnabled" not in first
    assert "@odata.nextLink" not in body and len(body["value"]) == 12
    select = "id,userPrincipalName,accountEnabled,onPremisesSyncEnabled,userType"
    params = {"$select": select, "$top": "5"}
    r = tenant.graph("GET", "users", tok, params=params)
    body = r.json()
    assert body["@odata.context"].endswith(f"#users({select})")
    seen = []
    pages = 0
    while True:
        pages += 1
        for user in body["value"]:
            assert set(user) == set(select.split(","))
        seen += [u["id"] for u in body["value"]]
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "$select=" in link and "$top=5" in link and "$skiptoken=X%27" in link
        body = tenant.client.get(link, headers={"Authorization": f"Bearer {tok}"}).json()
    assert pages == 3 and len(seen) == len(set(seen)) == 12
    synced = [u for u in tenant.state.users.values() if u["onPremisesSyncEnabled"]]
    assert len(synced) == 1
    _graph_error(tenant.graph("GET", "users", tok, params={"$top": "1000"}), 400,
                 "Request_UnsupportedQuery")  # fmt: skip
    _graph_error(tenant.graph("GET", "users", tok, params={"$select": "nope"}), 400, "BadRequest")
    _graph_error(tenant.graph("GET", "users", tok, params={"$skiptoken": "zz"}), 400,
                 "Directory_ExpiredPageToken")  # fmt: skip


def test_groups_include_microsoft_365_groups(tenant):
    r = tenant.graph("GET", "groups", params={"$select": "id,displayName,groupTypes"})
    groups = r.json()["value"]
    assert ["Unified"] in [g["groupTypes"] for g in groups]
    full = tenant.graph("GET", "groups").json()["value"]
    assert {"mailEnabled", "securityEnabled", "visibility"} <= set(full[0])


def _records_for(tenant: Tenant, operation: str) -> list[dict[str, object]]:
    out = []
    for blob in tenant.state.blobs.all_blobs():
        for raw in blob.records:
            rec = orjson.loads(raw)
            if rec.get("Operation") == operation and rec.get("CreationTime") >= "2026-11-01T12":
                out.append((rec, blob))
    return out


def test_disable_user_is_204_and_logged_after_a_delay(tenant):
    upn = "megan.bowen@contoso.onmicrosoft.com"
    r = tenant.graph("PATCH", f"users/{upn.upper()}", json={"accountEnabled": False})
    assert r.status_code == 204 and r.content == b""
    assert tenant.state.find_user(upn)["accountEnabled"] is False
    [(rec, blob)] = _records_for(tenant, "Disable account.")
    assert rec["RecordType"] == 8 and rec["Workload"] == "AzureActiveDirectory"
    assert rec["ObjectId"] == upn and rec["OrganizationId"] == TENANT_ID
    assert rec["ModifiedProperties"][0] == {
        "Name": "AccountEnabled",
        "NewValue": "[\r\n  false\r\n]",
        "OldValue": "[\r\n  true\r\n]",
    }
    assert len(_records_for(tenant, "Update user.")) == 1
    assert blob.content_type == "Audit.AzureActiveDirectory"
    assert timedelta(minutes=30) <= blob.created - NOW <= timedelta(minutes=90)
    # Listable only once published.
    tok = tenant.token()
    params = {"contentType": "Audit.AzureActiveDirectory"}
    listed = tenant.feed("GET", "subscriptions/content", tok, **params).json()
    assert blob.content_id not in [e["contentId"] for e in listed]
    tenant.clock.advance((blob.created - NOW).total_seconds() + 1)
    listed = tenant.feed("GET", "subscriptions/content", **params).json()
    assert blob.content_id in [e["contentId"] for e in listed]
    # Enabling logs "Enable account."; a no-op PATCH logs nothing.
    tenant.graph("PATCH", f"users/{upn}", json={"accountEnabled": True})
    tenant.graph("PATCH", f"users/{upn}", json={"accountEnabled": True})
    assert len(_records_for(tenant, "Enable account.")) == 1


def test_patch_errors(tenant):
    synced = next(u for u in tenant.state.users.values() if u["onPremisesSyncEnabled"])
    err = _graph_error(
        tenant.graph("PATCH", f"users/{synced['id']}", json={"accountEnabled": False}),
        400,
        "Request_BadRequest",
    )
    assert str(err["message"]).startswith(
        "Unable to update the specified properties for on-premises"
    )
    tenant.state.onprem_sync_writes = "accept"
    r = tenant.graph("PATCH", f"users/{synced['id']}", json={"accountEnabled": False})
    assert r.status_code == 204
    missing = "users/00000000-0000-0000-0000-00000000dead"
    _graph_error(tenant.graph("PATCH", missing, json={"accountEnabled": False}), 404,
                 "Request_ResourceNotFound")  # fmt: skip
    some = next(iter(tenant.state.users))
    _graph_error(tenant.graph("PATCH", f"users/{some}", json={"accountEnabled": "no"}), 400,
                 "BadRequest")  # fmt: skip
    _graph_error(tenant.graph("PATCH", f"users/{some}", content=b"{"), 400, "BadRequest")
    _graph_error(tenant.graph("PATCH", f"users/{some}", json={"id": "x"}), 400,
                 "Request_BadRequest")  # fmt: skip


def test_permissions_and_tokens(tenant):
    app = tenant.state.apps[next(iter(tenant.state.apps))]
    app.roles["https://graph.microsoft.com"] = frozenset({"User.Read.All"})
    tok = tenant.token("https://graph.microsoft.com")
    some = next(iter(tenant.state.users))
    _graph_error(tenant.graph("PATCH", f"users/{some}", tok, json={"accountEnabled": False}), 403,
                 "Authorization_RequestDenied")  # fmt: skip
    _graph_error(tenant.graph("POST", f"users/{some}/revokeSignInSessions", tok), 403,
                 "Authorization_RequestDenied")  # fmt: skip
    _graph_error(tenant.graph("GET", "groups", tok), 403, "Authorization_RequestDenied")
    # A Management API token is the wrong audience for Graph.
    _graph_error(tenant.graph("GET", "users", tenant.token()), 401, "InvalidAuthenticationToken")
    r = tenant.client.get("/v1.0/users", headers={"client-request-id": "mine"})
    err = _graph_error(r, 401, "InvalidAuthenticationToken")
    assert err["innerError"]["client-request-id"] == "mine"


def test_revoke_sign_in_sessions(tenant):
    some = next(iter(tenant.state.users.values()))
    r = tenant.graph("POST", f"users/{some['userPrincipalName']}/revokeSignInSessions")
    assert r.status_code == 200
    assert r.json() == {
        "@odata.context": "https://o365.test/v1.0/$metadata#Edm.Boolean",
        "value": True,
    }
    assert some["signInSessionsValidFromDateTime"] == "2026-11-01T12:00:00Z"
    [(rec, _)] = _records_for(tenant, "Update user.")
    assert rec["ModifiedProperties"][0]["Name"] == "StsRefreshTokensValidFrom"


def test_graph_throttling_and_injected_faults():
    gen = make_tenant(limits=Limits(graph_per_window=3, graph_window_seconds=10))
    t = next(gen)
    tok = t.token("https://graph.microsoft.com")
    for _ in range(3):
        assert t.graph("GET", "users", tok).status_code == 200
    r = t.graph("GET", "users", tok)
    err = _graph_error(r, 429, "TooManyRequests")
    assert r.headers["Retry-After"] == "10"
    assert err["innerError"]["status"] == "429"
    t.clock.advance(10)
    assert t.graph("GET", "users", tok).status_code == 200
    gen.close()
    gen = make_tenant(faults=Faults(error_500_rate=1.0))
    t = next(gen)
    r = t.client.post(f"/{TENANT_ID}/oauth2/v2.0/token", data={})
    assert r.status_code == 500 and r.json()["error"] == "server_error"
    gen.close()
