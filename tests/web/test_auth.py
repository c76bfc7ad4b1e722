"""Access control: sign-in, sessions, CSRF and cross-site refusal, throttling, API tokens,
users, the audit trail, and the headers and problem details every answer carries."""

from __future__ import annotations

from tests.web.conftest import PASSWORD, Web
from tests.web.helpers import assert_problem


def test_sign_in_sets_a_hardened_cookie_and_returns_the_csrf_token(web: Web) -> None:
    web.add_user("ann", "analyst")
    c = web.client()
    r = c.post("/api/v1/session", json={"username": "Ann", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["username"] == "ann" and body["role"] == "analyst" and body["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("opencasb_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    # the store keeps a hash, never the cookie's value
    value = cookie.split(";")[0].split("=", 1)[1]
    with web.store.engine.connect() as conn:
        hashes = [r[0] for r in conn.exec_driver_sql("SELECT token_hash FROM web_sessions")]
    assert hashes and value not in hashes
    me = c.get("/api/v1/session")
    assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]


def test_over_tls_the_cookie_is_secure_and_host_bound(web: Web) -> None:
    web.add_user("ann", "admin")
    c = web.client("https://testserver")
    r = c.post("/api/v1/session", json={"username": "ann", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-opencasb_session=") and "Secure" in cookie
    assert "max-age=31536000" in r.headers["strict-transport-security"]
    assert c.get("/api/v1/session").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_problem(web: Web) -> None:
    web.add_user("ann", "analyst")
    c = web.client()
    wrong = c.post("/api/v1/session", json={"username": "ann", "password": "x" * 12})
    unknown = c.post("/api/v1/session", json={"username": "nobody", "password": "x" * 12})
    for r in (wrong, unknown):
        assert_problem(r, 401, "bad_credentials")
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert c.get("/api/v1/session").status_code == 401
    entries = web.store.portal.list_audit(action="signin.failed")
    assert {(e.target, e.outcome, e.source_ip) for e in entries} == {
        ("ann", "failure", "testclient"),
        ("nobody", "failure", "testclient"),
    }


def test_throttling_locks_the_account_for_the_window(web: Web) -> None:
    web.add_user("ann", "analyst")
    c = web.client()
    for _ in range(5):
        assert (
            c.post("/api/v1/session", json={"username": "ann", "password": "w" * 12}).status_code
            == 401
        )
    # the right password is refused now, without being checked
    r = c.post("/api/v1/session", json={"username": "ann", "password": PASSWORD})
    assert_problem(r, 429, "signin_throttled")
    assert r.headers["retry-after"] == "900"
    # the refused attempt is in the audit trail (and does not count as one more failure)
    (refused,) = web.store.portal.list_audit(action="signin.throttled")
    assert (refused.actor, refused.target, refused.outcome) == ("-", "ann", "refused")
    assert len(web.store.portal.list_audit(action="signin.failed")) == 5
    # another account from the same address is not locked (20 failures lock an address)
    web.add_user("bob", "analyst")
    assert (
        c.post("/api/v1/session", json={"username": "bob", "password": PASSWORD}).status_code == 200
    )
    web.clock.advance(15 * 60 + 1)
    assert (
        c.post("/api/v1/session", json={"username": "ann", "password": PASSWORD}).status_code == 200
    )


def test_throttling_per_address(web: Web) -> None:
    web.add_user("ann", "analyst")
    c = web.client()
    for i in range(20):
        c.post("/api/v1/session", json={"username": f"guess{i}", "password": "w" * 12})
    r = c.post("/api/v1/session", json={"username": "ann", "password": PASSWORD})
    assert_problem(r, 429, "signin_throttled")


def test_state_change_with_the_cookie_needs_the_csrf_token(web: Web) -> None:
    admin = web.signed_in("admin")
    token = admin.headers.pop("X-CSRF-Token")
    new = {"username": "carl", "password": PASSWORD, "role": "analyst"}
    assert_problem(admin.post("/api/v1/users", json=new), 403, "csrf_failed")
    r = admin.post("/api/v1/users", json=new, headers={"X-CSRF-Token": "0" * 64})
    assert_problem(r, 403, "csrf_failed")
    assert admin.post("/api/v1/users", json=new, headers={"X-CSRF-Token": token}).status_code == 201


def test_cross_site_posts_are_refused_even_with_the_csrf_token(web: Web) -> None:
    admin = web.signed_in("admin")
    new = {"username": "carl", "password": PASSWORD, "role": "analyst"}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        assert_problem(admin.post("/api/v1/users", json=new, headers=headers), 403, "cross_site")
    # a classic cross-site form post (no CSRF token, another origin)
    form = admin.post(
        "/api/v1/session",
        data={"username": "admin", "password": PASSWORD},
        headers={"Origin": "http://evil.example", "X-CSRF-Token": ""},
    )
    assert_problem(form, 403, "cross_site")
    ok = admin.post(
        "/api/v1/users",
        json=new,
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert ok.status_code == 201
    assert "carl" in {u.username for u in web.store.portal.list_users()}


def test_api_tokens_are_shown_once_scoped_and_revocable(web: Web) -> None:
    admin = web.signed_in("admin")
    r = admin.post("/api/v1/tokens", json={"name": "siem", "role": "read_only"})
    assert r.status_code == 201
    value, token_id = r.json()["token"], r.json()["id"]
    assert value.startswith("ocb_")
    listed = admin.get("/api/v1/tokens").json()
    assert value not in str(listed) and listed[0]["prefix"] == value[:10]
    bot = web.client()
    bot.headers["Authorization"] = f"Bearer {value}"
    me = bot.get("/api/v1/session").json()
    assert me["username"] == "token:siem" and me["role"] == "read_only" and me["via"] == "token"
    # read-only: no user management, whatever the method
    assert_problem(bot.get("/api/v1/users"), 403, "forbidden")
    assert admin.get("/api/v1/tokens").json()[0]["last_used_ip"] == "testclient"
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert_problem(bot.get("/api/v1/session"), 401, "bad_token")
    wrong = web.client()
    wrong.headers["Authorization"] = "Bearer ocb_nothing"
    assert_problem(wrong.get("/api/v1/session"), 401, "bad_token")


def test_a_bearer_token_needs_no_csrf_token(web: Web) -> None:
    admin = web.signed_in("admin")
    value = admin.post("/api/v1/tokens", json={"name": "ops", "role": "admin"}).json()["token"]
    bot = web.client()
    bot.headers["Authorization"] = f"Bearer {value}"
    r = bot.post("/api/v1/users", json={"username": "dan", "password": PASSWORD})
    assert r.status_code == 201 and r.json()["role"] == "read_only"
    actions = [(e.actor, e.action) for e in web.store.portal.list_audit(limit=3)]
    assert actions[0] == ("token:ops", "user.add")


def test_users_role_change_ends_sessions_and_last_admin_stays(web: Web) -> None:
    admin = web.signed_in("admin")
    analyst = web.signed_in("analyst")
    assert analyst.get("/api/v1/session").status_code == 200
    r = admin.patch("/api/v1/users/analyst", json={"role": "read_only"})
    assert r.status_code == 200 and r.json()["role"] == "read_only"
    assert analyst.get("/api/v1/session").status_code == 401
    assert_problem(admin.patch("/api/v1/users/admin", json={"role": "analyst"}), 400, "last_admin")
    assert_problem(admin.delete("/api/v1/users/admin"), 400, "last_admin")
    assert_problem(
        admin.patch("/api/v1/users/nobody", json={"role": "analyst"}), 404, "user_not_found"
    )
    weak = admin.post("/api/v1/users", json={"username": "eve", "password": "short"})
    assert_problem(weak, 400, "weak_password")
    assert admin.delete("/api/v1/users/analyst").status_code == 204


def test_sign_out_ends_the_session_server_side(web: Web) -> None:
    c = web.signed_in("analyst")
    cookie = c.cookies.get("opencasb_session")
    assert c.delete("/api/v1/session").status_code == 204
    again = web.client()
    again.cookies.set("opencasb_session", cookie or "")
    assert again.get("/api/v1/session").status_code == 401


def test_sessions_expire_when_idle(web: Web) -> None:
    c = web.signed_in("analyst")
    web.clock.advance(7 * 3600)
    assert c.get("/api/v1/session").status_code == 200  # slides the idle expiry
    web.clock.advance(7 * 3600)
    assert c.get("/api/v1/session").status_code == 200
    web.clock.advance(8 * 3600 + 1)
    assert_problem(c.get("/api/v1/session"), 401, "not_signed_in")


def test_audit_trail_records_who_when_where_and_pages(web: Web) -> None:
    admin = web.signed_in("admin")
    for i in range(5):
        web.clock.advance(1)
        admin.post("/api/v1/users", json={"username": f"u{i}", "password": PASSWORD})
    first = admin.get("/api/v1/audit", params={"limit": 3, "action": "user.add"}).json()
    assert [e["target"] for e in first["items"]] == ["u4", "u3", "u2"]
    assert first["items"][0]["actor"] == "admin" and first["items"][0]["time"].endswith("Z")
    assert first["items"][0]["source_ip"] == "testclient"
    second = admin.get(first["next"]).json()
    assert [e["target"] for e in second["items"]] == ["u1", "u0"] and second["next"] is None
    assert_problem(admin.get("/api/v1/audit", params={"after": "garbage!"}), 400, "bad_page_token")


def test_every_answer_has_the_security_headers_and_errors_are_problems(web: Web) -> None:
    c = web.client()
    for r in (c.get("/api/v1/session"), c.get("/api/nope"), c.get("/api/docs")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    # FastAPI's own errors have a code too, like every other problem
    assert_problem(c.get("/api/nope"), 404, "not_found")
    wrong = c.put("/api/v1/session")
    assert_problem(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]
    assert_problem(c.get("/api"), 404, "not_found")


def test_errors_outside_the_api_are_the_portals_error_page(web: Web) -> None:
    for c in (web.client(), web.signed_in("read_only")):
        missing = c.get("/no-such-page/<b>x</b>", follow_redirects=False)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "There is no page at /no-such-page/&lt;b&gt;x&lt;/b&gt;" in missing.text
        assert "<b>x</b>" not in missing.text and "Not found" in missing.text
        assert "frame-ancestors 'none'" in missing.headers["content-security-policy"]
        wrong = c.put("/dashboard", follow_redirects=False)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
        assert wrong.headers["content-type"].startswith("text/html")
        assert "does not take a PUT request" in wrong.text
    assert web.client().get("/static/nope.css").headers["content-type"].startswith("text/html")
    # the signed-in viewer keeps the portal's frame (navigation) on the error page
    assert 'href="/alerts"' in web.signed_in("read_only").get("/nope").text
    bad = c.post("/api/v1/session", json={"username": "x"})
    assert_problem(bad, 422, "invalid_request")
    assert bad.json()["errors"][0]["loc"] == ["body", "password"]


def test_docs_are_served_offline_without_inline_script(web: Web) -> None:
    c = web.client()
    page = c.get("/api/docs").text
    assert "cdn" not in page.lower() and "<script>" not in page
    for src in ("/api/docs/static/swagger-ui-bundle.js", "/api/docs/init.js",
                "/api/docs/static/swagger-ui.css"):  # fmt: skip
        assert src in page and c.get(src).status_code == 200
    spec = c.get("/api/openapi.json").json()
    assert "/api/v1/session" in spec["paths"]
