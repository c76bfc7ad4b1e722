"""Walks over every route of the app: with every role (who may do what), without
credentials (nothing but signing in and the docs), and as an admin searching every answer
for every secret the store holds."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import KEY, PASSWORD, Web
from tests.web.seed import Seeded, seed

from opencasb.web.app import create_app

RANK = {"read_only": 0, "analyst": 1, "admin": 2}
# POSTs that read (a search with a body, a preview): any role may; signing in and out too.
READS = {
    ("POST", "/api/v1/activities/search"),
    ("POST", "/api/v1/policies/preview"),
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
}
ADMIN_ONLY = ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit")
PUBLIC = {("POST", "/api/v1/session")}


def min_role(method: str, path: str) -> str:
    """Who may call a route: the rule the app must follow."""
    if path.startswith(ADMIN_ONLY):
        return "admin"
    if path.startswith("/api/v1/apps") and method != "GET":
        return "admin"
    if method == "GET" or (method, path) in READS:
        return "read_only"
    return "analyst"


def api_routes(web: Web) -> list[tuple[str, str]]:
    """(method, path template) of every API route of the app."""
    # From the OpenAPI document: FastAPI includes routers lazily, so app.routes lists the
    # included routers rather than their routes; the schema lists every route.
    spec = create_app(web.ctx).openapi()
    out = [
        (m.upper(), path)
        for path, item in spec["paths"].items()
        for m in sorted(item)
        if path.startswith("/api/v1")
    ]
    assert len(out) > 40, out
    return out


def path_values(web: Web, seeded: Seeded, *, username: str, token_id: str) -> dict[str, str]:
    """What fills the routes' path parameters: the seeded records, a tagged range (added
    here), and the user and token given."""
    tagged = web.store.ip_tags.add("192.0.2.0/24", "tor", source="cli", created_by="t")
    return {
        "range_id": str(tagged.id),
        "ip": "192.0.2.1",
        "name": "okta",
        "instance": "okta",
        "source_event_id": "evt-000001",
        "alert_id": seeded.alert_id,
        "policy_id": "failed-sign-ins",
        "username": username,
        "token_id": token_id,
        "record_id": "1",
    }


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "nothing"), path)


def test_every_route_with_every_role(web: Web) -> None:
    seeded = seed(web)
    clients = {role: web.signed_in(role) for role in RANK}
    values = path_values(web, seeded, username="nobody", token_id="999")
    bad: list[str] = []
    for method, template in api_routes(web):
        path = fill(template, values)
        need = min_role(method, template)
        # the mutating calls of the lower roles first: they must change nothing
        for role in sorted(RANK, key=RANK.__getitem__):
            if (method, template) == ("DELETE", "/api/v1/session"):
                continue  # signing out is checked on its own below
            body: Any = {} if method in ("POST", "PUT", "PATCH") else None
            r = clients[role].request(method, path, json=body)
            refused = r.status_code == 403
            if refused != (RANK[role] < RANK[need]):
                bad.append(f"{role} {method} {path}: {r.status_code} (needs {need}) {r.text[:120]}")
            if refused:
                assert r.headers["content-type"].startswith("application/problem+json")
    assert not bad, "\n".join(bad)
    for role, c in clients.items():
        assert c.delete("/api/v1/session").status_code == 204, role


def test_nothing_without_credentials(web: Web) -> None:
    seed(web)
    c = web.client()
    for method, template in api_routes(web):
        if (method, template) in PUBLIC:
            continue
        body: Any = {} if method in ("POST", "PUT", "PATCH") else None
        r = c.request(method, fill(template, {}), json=body)
        assert r.status_code == 401, (method, template, r.status_code, r.text[:200])
        assert r.json()["code"] == "not_signed_in"


def test_read_only_changes_nothing(web: Web) -> None:
    """A read-only user's every mutating call leaves the store as it was."""
    seeded = seed(web)
    ro = web.signed_in("read_only")

    def snapshot() -> Any:
        s = web.store
        return (
            [(r.name, r.enabled, r.config) for r in s.list_instances()],
            [(p.id, p.enabled, p.definition) for p in s.detection.list_policies()],
            [(a.id, a.status, a.resolution, a.comments) for a in s.detection.list_alerts()],
            [(u.username, u.role) for u in s.portal.list_users()],
            [t.id for t in s.portal.list_tokens()],
            (s.ip_tags.records(), s.ip_tags.version()),
        )

    tagged = web.store.ip_tags.add("192.0.2.0/24", "tor", source="cli", created_by="t")
    before = snapshot()
    attempts = [
        ("POST", "/api/v1/iptags", {"network": "198.51.100.0/24", "tag": "vpn"}),
        ("DELETE", f"/api/v1/iptags/{tagged.id}", None),
        ("POST", "/api/v1/iptags/import?name=x.txt&tag=tor&replace=true", None),
        ("POST", f"/api/v1/alerts/{seeded.alert_id}/close", {"resolution": "benign"}),
        ("POST", f"/api/v1/alerts/{seeded.alert_id}/comments", {"text": "x"}),
        ("POST", "/api/v1/policies/failed-sign-ins/disable", {}),
        ("POST", "/api/v1/policies", {"template_id": "mass-download"}),
        ("DELETE", "/api/v1/policies/failed-sign-ins", None),
        ("POST", "/api/v1/apps/okta/disable", {}),
        ("DELETE", "/api/v1/apps/okta", None),
        ("POST", "/api/v1/users", {"username": "x", "password": PASSWORD, "role": "admin"}),
        ("POST", "/api/v1/tokens", {"name": "x", "role": "admin"}),
    ]
    for method, path, body in attempts:
        assert ro.request(method, path, json=body).status_code == 403, path
    assert snapshot() == before


def _secrets_of(web: Web, extra: list[str]) -> list[str]:
    """Every secret the store holds or handed out: connector credentials, the master key,
    password hashes, token and session hashes, and the values given out."""
    found = list(extra)
    with web.store.engine.connect() as conn:
        found += [r[0] for r in conn.exec_driver_sql("SELECT password_hash FROM users")]
        found += [r[0] for r in conn.exec_driver_sql("SELECT token_hash FROM api_tokens")]
        found += [r[0] for r in conn.exec_driver_sql("SELECT token_hash FROM web_sessions")]
        found += [r[0] for r in conn.exec_driver_sql("SELECT secrets_enc FROM instances")]
    for rec in web.store.list_instances():
        found += list(web.store.instance_secrets(rec).values())
    return [s for s in found if isinstance(s, str) and len(s) >= 8]


def test_no_answer_holds_a_stored_secret(web: Web) -> None:
    seeded = seed(web)
    admin = web.signed_in("admin")
    session_cookie = admin.cookies.get("opencasb_session") or ""
    made = admin.post("/api/v1/tokens", json={"name": "ci", "role": "read_only"}).json()
    token_value = made["token"]
    secrets = _secrets_of(web, [*seeded.secrets, session_cookie, token_value, PASSWORD])
    secrets.append(KEY.decode() if isinstance(KEY, bytes) else str(KEY))
    # A database URL may carry passwords in its userinfo and in its query (libpq keys); the
    # settings answer shows the URL, so it must show neither. (Only shown: the store is open.)
    db_secrets = ["userinfo-s3cret", "query-s3cret", "sslkey-s3cret", "/home/u/.pgpass-s3cret"]
    web.ctx.settings.database_url = (
        "postgresql+psycopg://casb:userinfo-s3cret@db.example/casb?sslmode=require"
        "&password=query-s3cret&sslpassword=sslkey-s3cret&passfile=/home/u/.pgpass-s3cret"
    )
    secrets += db_secrets
    assert seeded.secrets[0] in secrets and len(secrets) >= 8
    values = path_values(web, seeded, username="admin", token_id=str(made["id"]))
    seen = 0
    for method, template in api_routes(web):
        if method != "GET":
            continue
        r = admin.get(fill(template, values))
        assert r.status_code == 200, (template, r.status_code, r.text[:300])
        text = r.text
        seen += 1
        leaked = [s[:6] + "..." for s in secrets if s in text]
        assert not leaked, (template, leaked)
    # the exports and the docs too
    for path in ("/api/v1/activities/export?format=csv", "/api/v1/activities/export?format=jsonl",
                 "/api/openapi.json"):  # fmt: skip
        text = admin.get(path).text
        assert not [s for s in secrets if s in text], path
    assert seen >= 20
    shown = admin.get("/api/v1/settings").json()["database"]
    assert shown.startswith("postgresql+psycopg://casb:***@db.example/casb?"), shown
    assert "sslmode=require" in shown and "password=***" in shown
    # the one answer that shows a secret is the token's creation, once
    assert token_value not in admin.get("/api/v1/tokens").text
