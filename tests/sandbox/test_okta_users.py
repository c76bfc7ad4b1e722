"""Users, Groups, lifecycle state machine, sessions, SSWS permissions."""

from __future__ import annotations

from typing import Any

import pytest

U = "00u0000000000000000"  # + digit


def _status(org: Any, n: int) -> str:
    return str(org.state.users[f"{U}{n}"]["status"])


def test_list_users_omits_deprovisioned_and_pages(org, helpers):
    r = org.get("/api/v1/users")
    assert r.status_code == 200
    ids = [u["id"] for u in r.json()]
    assert f"{U}4" not in ids and len(ids) == 6
    assert helpers.links(r) == {"self": "https://org.okta.test/api/v1/users?limit=200"}
    assert r.headers["x-rate-limit-limit"] == "600"

    r = org.get("/api/v1/users", limit=4)
    assert len(r.json()) == 4
    nxt = helpers.links(r)["next"]
    r2 = org.client.get(nxt, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
    assert [u["id"] for u in r.json() + r2.json()] == ids
    assert "next" not in helpers.links(r2)


def test_user_filters_and_q(org):
    def ids(**params: Any) -> list[str]:
        r = org.get("/api/v1/users", **params)
        assert r.status_code == 200, r.text
        return [u["id"][-1] for u in r.json()]

    assert ids(filter='status eq "DEPROVISIONED"') == ["4"]
    assert ids(filter='status eq "SUSPENDED" or status eq "LOCKED_OUT"') == ["3", "5"]
    assert ids(filter='profile.login eq "user2@example.com"') == ["2"]
    assert ids(filter='lastUpdated gt "2026-06-15T00:00:00.000Z"') == ["6", "7"]
    assert ids(q="ali") == ["1"]
    assert ids(q="n3") == ["3"]  # lastName prefix
    assert ids(search='profile.firstName sw "Us" and status eq "DEPROVISIONED"') == ["4"]
    for bad in ('status ne "ACTIVE"', 'profile.city eq "Paris"', 'not status eq "ACTIVE"', "(("):
        r = org.get("/api/v1/users", filter=bad)
        assert r.status_code == 400 and r.json()["errorCode"] == "E0000031"


def test_get_user_by_id_login_me_and_404(org):
    by_id = org.get(f"/api/v1/users/{U}2")
    assert by_id.status_code == 200
    assert by_id.headers["x-rate-limit-limit"] == "2000"
    assert by_id.json()["_links"]["self"]["href"] == f"https://org.okta.test/api/v1/users/{U}2"
    assert "suspend" in by_id.json()["_links"]
    assert org.get("/api/v1/users/user2@example.com").json()["id"] == f"{U}2"
    assert org.get("/api/v1/users/user2").json()["id"] == f"{U}2"
    assert org.get("/api/v1/users/me").json()["id"] == f"{U}1"
    r = org.get("/api/v1/users/00uNOPE")
    assert r.status_code == 404
    body = r.json()
    assert body["errorSummary"] == "Not found: Resource not found: 00uNOPE (User)"
    assert body["errorLink"] == "E0000007" and body["errorCauses"] == []


def test_groups_memberships_and_roles(org, helpers):
    groups = org.get("/api/v1/groups").json()
    assert [g["profile"]["name"] for g in groups] == ["Everyone", "Engineering"]
    assert org.get("/api/v1/groups", q="eng").json()[0]["profile"]["name"] == "Engineering"
    r = org.get("/api/v1/groups", limit=1)
    assert len(r.json()) == 1 and "next" in helpers.links(r)
    members = org.get(f"/api/v1/groups/{groups[0]['id']}/users").json()
    assert len(members) == 7
    user_groups = org.get(f"/api/v1/users/{U}2/groups").json()
    assert [g["profile"]["name"] for g in user_groups] == ["Everyone", "Engineering"]
    roles = org.get(f"/api/v1/users/{U}1/roles").json()
    assert roles[0]["type"] == "SUPER_ADMIN" and roles[0]["status"] == "ACTIVE"
    assert roles[0]["label"] == "Super Administrator" and roles[0]["id"]
    assert org.get(f"/api/v1/users/{U}3/roles").json() == []
    assert org.get("/api/v1/groups/00gNOPE/users").status_code == 404


@pytest.mark.parametrize(
    ("n", "op", "status", "code", "after"),
    [
        (2, "suspend", 200, None, "SUSPENDED"),
        (3, "suspend", 400, "E0000001", "SUSPENDED"),
        (3, "unsuspend", 200, None, "ACTIVE"),
        (2, "unsuspend", 400, "E0000001", "ACTIVE"),
        (2, "deactivate", 200, None, "DEPROVISIONED"),
        (4, "deactivate", 403, "E0000038", "DEPROVISIONED"),
        (7, "reactivate", 200, None, "PROVISIONED"),
        (2, "reactivate", 403, "E0000038", "ACTIVE"),
        (5, "unlock", 200, None, "ACTIVE"),
        (2, "unlock", 403, "E0000032", "ACTIVE"),
        (6, "activate", 200, None, "ACTIVE"),
        (2, "activate", 403, "E0000016", "ACTIVE"),
        (2, "expire_password", 200, None, "PASSWORD_EXPIRED"),
        (3, "expire_password", 403, "E0000038", "SUSPENDED"),
        (2, "reset_factors", 200, None, "ACTIVE"),
    ],
)
def test_lifecycle_state_machine(org, n, op, status, code, after):
    before = dict(org.state.users[f"{U}{n}"])
    r = org.post(f"/api/v1/users/{U}{n}/lifecycle/{op}")
    assert r.status_code == status, r.text
    assert _status(org, n) == after
    if code:
        assert r.json()["errorCode"] == code
        assert org.state.users[f"{U}{n}"]["lastUpdated"] == before["lastUpdated"]
        return
    user = org.state.users[f"{U}{n}"]
    assert user["lastUpdated"] == "2026-11-01T12:00:00.000Z"
    if after != before["status"]:
        assert user["statusChanged"] == "2026-11-01T12:00:00.000Z"
    body = r.json()
    if op == "expire_password":
        assert body["status"] == "PASSWORD_EXPIRED" and "_links" in body
    elif op == "reactivate":
        assert set(body) == {"activationUrl", "activationToken"}
    else:
        assert body == {}


def test_lifecycle_error_bodies(org):
    body = org.post(f"/api/v1/users/{U}2/lifecycle/unlock").json()
    assert body["errorSummary"] == "Unlock is not allowed for this user."
    assert body["errorCauses"] == [{"errorSummary": "The user is not locked out."}]
    body = org.post(f"/api/v1/users/{U}2/lifecycle/reactivate").json()
    assert body["errorSummary"] == "This operation is not allowed in the user's current status."
    assert org.post("/api/v1/users/00uNOPE/lifecycle/suspend").status_code == 404


def test_lifecycle_actions_emit_log_events(org):
    assert org.post(f"/api/v1/users/{U}2/lifecycle/suspend").status_code == 200
    assert org.post(f"/api/v1/users/{U}2/lifecycle/reset_factors").status_code == 200
    r = org.client.delete(
        f"/api/v1/users/{U}2/sessions",
        params={"oauthTokens": "true"},
        headers={"Authorization": "SSWS ssws-admin-secret"},
    )
    assert r.status_code == 204 and r.content == b""
    r = org.get("/api/v1/logs", filter=f'target.id eq "{U}2"')
    events = r.json()
    assert [e["eventType"] for e in events] == [
        "user.lifecycle.suspend",
        "user.mfa.factor.reset_all",
        "user.session.clear",
    ]
    for e in events:
        assert e["actor"]["id"] == f"{U}1" and e["actor"]["alternateId"] == "alice1@example.com"
        assert e["transaction"]["detail"]["requestApiTokenId"] == "00Tadmin000000000000"
        assert e["published"] == "2026-11-01T12:00:00.000Z"
    assert events[1]["debugContext"]["debugData"]["requestUri"].endswith("/lifecycle/reset_factors")
    # The user's links follow the new status.
    links = org.get(f"/api/v1/users/{U}2").json()["_links"]
    assert "unsuspend" in links and "suspend" not in links


def test_read_only_token_reads_but_cannot_act(org, helpers):
    ro = helpers.READONLY_TOKEN
    for path in ("/api/v1/logs", "/api/v1/users", f"/api/v1/users/{U}2", "/api/v1/groups"):
        assert org.get(path, token=ro).status_code == 200
    r = org.post(f"/api/v1/users/{U}2/lifecycle/suspend", token=ro)
    assert r.status_code == 403
    assert r.json()["errorCode"] == "E0000006"
    assert r.json()["errorSummary"] == "You do not have permission to perform the requested action"
    r = org.client.delete(f"/api/v1/users/{U}2/sessions", headers={"Authorization": f"SSWS {ro}"})
    assert r.status_code == 403
    assert _status(org, 2) == "ACTIVE"


def test_bad_or_missing_token_is_401(org):
    for headers in ({}, {"Authorization": "SSWS nope"}, {"Authorization": "Basic x"}):
        r = org.client.get("/api/v1/logs", headers=headers)
        assert r.status_code == 401
        assert r.json()["errorCode"] == "E0000011"
        assert r.json()["errorSummary"] == "Invalid token provided"
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-okta-request-id"]


def test_post_without_content_length_is_411(org, helpers):
    req = org.client.build_request(
        "POST",
        f"/api/v1/users/{U}2/lifecycle/suspend",
        headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"},
    )
    del req.headers["Content-Length"]
    r = org.client.send(req)
    assert r.status_code == 411
    assert _status(org, 2) == "ACTIVE"


def test_unknown_route_and_wrong_method(org):
    assert org.get("/api/v1/apps").status_code == 404
    r = org.client.put("/api/v1/logs", headers={"Authorization": "SSWS ssws-admin-secret"})
    assert r.status_code == 405 and r.json()["errorCode"] == "E0000022"
