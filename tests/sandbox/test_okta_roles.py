"""``GET /api/v1/iam/assignees/users``: role holders in bulk, paged in the body."""

from __future__ import annotations

from typing import Any

from opencasb.sandbox.okta.routes_roles import ORG_ID

U = "00u0000000000000000"  # + digit
PATH = "/api/v1/iam/assignees/users"


def test_lists_the_role_holders_with_links_and_no_link_header(org: Any, helpers: Any) -> None:
    r = org.get(PATH)
    assert r.status_code == 200
    assert r.headers["x-rate-limit-limit"] == "1200"  # the catch-all bucket
    assert "link" not in r.headers  # this list pages in its body
    body = r.json()
    assert body["_links"] == {}
    first = body["value"][0]
    assert first == {
        "id": f"{U}1",
        "orn": f"orn:okta:{ORG_ID}:users:{U}1",
        "_links": {
            "self": {"href": f"{helpers.BASE}/api/v1/users/{U}1"},
            "roles": {"href": f"{helpers.BASE}/api/v1/users/{U}1/roles"},
        },
    }
    assert [a["id"] for a in body["value"]] == [f"{U}1", f"{U}2"]


def test_pages_with_after_the_last_id_in_the_body_links(org: Any, helpers: Any) -> None:
    r = org.get(PATH, limit=1)
    body = r.json()
    assert [a["id"] for a in body["value"]] == [f"{U}1"]
    nxt = body["_links"]["next"]["href"]
    assert nxt == f"{helpers.BASE}{PATH}?after={U}1&limit=1"  # the spec's example shape
    r2 = org.client.get(nxt, headers={"Authorization": f"SSWS {helpers.ADMIN_TOKEN}"})
    assert [a["id"] for a in r2.json()["value"]] == [f"{U}2"]
    assert r2.json()["_links"] == {}


def test_default_page_is_100_and_larger_limits_are_served_as_100(org: Any) -> None:
    state = org.state
    for n in range(150):
        state.add_user({**org.state.users[f"{U}2"], "id": f"00uadmin{n:012d}"})
        state.admin_roles[f"00uadmin{n:012d}"] = ["HELP_DESK_ADMIN"]
    for params in ({}, {"limit": 500}):
        body = org.get(PATH, **params).json()
        assert len(body["value"]) == 100 and "limit=100" in body["_links"]["next"]["href"]
    assert org.get(PATH, limit=0).status_code == 400


def test_users_without_roles_are_not_listed_and_read_only_tokens_may_read(
    org: Any, helpers: Any
) -> None:
    org.state.admin_roles[f"{U}2"] = []
    ids = [a["id"] for a in org.get(PATH, token=helpers.READONLY_TOKEN).json()["value"]]
    assert ids == [f"{U}1"]
