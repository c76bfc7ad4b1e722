"""Activities (filters, the filter language, paging, exports, one record), alerts (list,
read, close, comment), policies (templates, create, edit, enable, preview), inventory,
quarantine and settings, on both engines."""

from __future__ import annotations

import csv
import io
import json

from tests.web.conftest import KEY, T0, Web
from tests.web.helpers import assert_problem, cli_json
from tests.web.seed import HOSTILE, seed


def test_activities_filters_and_keyset_paging(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    first = c.get("/api/v1/activities", params={"limit": 50}).json()
    assert len(first["items"]) == 50 and first["items"][0]["source_event_id"] == "evt-000120"
    seen = [a["source_event_id"] for a in first["items"]]
    nxt = first["next"]
    while nxt:
        page = c.get(nxt).json()
        seen += [a["source_event_id"] for a in page["items"]]
        nxt = page["next"]
    assert len(seen) == len(set(seen)) == 121
    times = [a["time"] for a in first["items"]]
    assert times == sorted(times, reverse=True) and times[0].endswith("Z")
    checks = {
        "user": ("user3@example.com", lambda a: a["actor"]["email"] == "user3@example.com"),
        "ip": ("198.51.100.0/30", lambda a: a["src_ip"].rsplit(".", 1)[1] in "0123"),
        "activity_type": ("user.account.update_password", lambda a: a["raw"]["n"] % 3 == 0),
        "outcome": ("failure", lambda a: a["outcome"] == "failure"),
        "country": ("US", lambda a: a["geo"]["country_code"] == "US"),
        "text": ("ALERT(1)", lambda a: a["raw"].get("displayMessage") == HOSTILE),
    }  # fmt: skip
    for param, (value, holds) in checks.items():
        items = c.get("/api/v1/activities", params={param: value, "limit": 1000}).json()["items"]
        assert items and all(holds(a) for a in items), param
    none = c.get("/api/v1/activities", params={"activity_type": "no.such.type"}).json()
    assert none == {"items": [], "next": None}
    window = c.get(
        "/api/v1/activities",
        params={"since": "2026-11-01T12:00:10Z", "until": "2026-11-01T12:00:20Z"},
    ).json()["items"]
    assert [a["source_event_id"] for a in window][::-1] == [f"evt-{i:06d}" for i in range(10, 20)]
    assert_problem(c.get("/api/v1/activities", params={"since": "yesterday"}), 400, "bad_time")
    assert_problem(c.get("/api/v1/activities", params={"after": "@@"}), 400, "bad_page_token")
    assert_problem(c.get("/api/v1/activities", params={"limit": 0}), 422, "invalid_request")


def test_the_filter_language_by_query_and_by_body(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    doc = {"all": [{"field": "outcome", "equals": "failure"},
                   {"field": "raw.n", "lt": 50}]}  # fmt: skip
    by_query = c.get("/api/v1/activities", params={"filter": json.dumps(doc), "limit": 1000})
    ids = [a["source_event_id"] for a in by_query.json()["items"]]
    assert ids == [f"evt-{i:06d}" for i in (40, 30, 20, 10, 0)]
    by_body = c.post("/api/v1/activities/search", json={"filter": doc, "limit": 2})
    assert by_body.status_code == 200
    assert [a["source_event_id"] for a in by_body.json()["items"]] == ids[:2]
    after = by_body.json()["after"]
    more = c.post("/api/v1/activities/search", json={"filter": doc, "limit": 10, "after": after})
    assert [a["source_event_id"] for a in more.json()["items"]] == ids[2:]
    bad = c.post("/api/v1/activities/search", json={"filter": {"field": "nope", "equals": 1}})
    problem = assert_problem(bad, 422, "bad_filter")
    assert problem["problems"][0]["path"] == "field"  # type: ignore[index]


def test_one_record_with_raw_enrichment_and_hostile_text_as_data(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    r = c.get("/api/v1/activities/okta/evt-000120")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    a = r.json()
    assert a["actor"]["name"] == HOSTILE and a["raw"]["displayMessage"] == HOSTILE
    assert "<script>" not in r.text.split('"actor"')[0]  # JSON escapes nothing of HTML ...
    assert "\\u001b" in r.text  # ... but control characters are escaped
    assert a["enrichment"]["country_code"] == "US" and "device_type" in a["enrichment"]
    # the enrichment stored at ingest, but the tags of the ranges stored NOW: the seed's
    # range tagged the address "corporate" at ingest, and no stored range holds it
    assert a["enrichment"]["ip_tags"] == []
    other = c.get("/api/v1/activities/okta/evt-000001").json()
    assert other["enrichment"]["ip_tags"] == []
    # a range tagged now shows at once, in the record and in a search by the tag ...
    r = web.store.ip_tags.add("203.0.113.0/24", "vpn", source="cli", created_by="t")
    assert c.get("/api/v1/activities/okta/evt-000120").json()["enrichment"]["ip_tags"] == ["vpn"]
    doc = {"field": "ip_tags", "equals": "vpn"}
    found = c.post("/api/v1/activities/search", json={"filter": doc}).json()["items"]
    assert [x["source_event_id"] for x in found] == ["evt-000120"]
    assert found[0]["enrichment"]["ip_tags"] == ["vpn"]
    # ... and is gone once removed
    web.store.ip_tags.remove(r.id)
    assert c.get("/api/v1/activities/okta/evt-000120").json()["enrichment"]["ip_tags"] == []
    assert c.post("/api/v1/activities/search", json={"filter": doc}).json()["items"] == []
    assert_problem(c.get("/api/v1/activities/okta/nope"), 404, "activity_not_found")


def test_exports_stream_every_match(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    r = c.get("/api/v1/activities/export", params={"format": "csv", "outcome": "failure"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 12 and {row["outcome"] for row in rows} == {"failure"}
    r = c.get(
        "/api/v1/activities/export", params={"format": "jsonl", "user": "mallory@example.com"}
    )
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == 1 and lines[0]["user_agent"] == HOSTILE
    allrows = c.get("/api/v1/activities/export", params={"format": "csv"}).text
    assert len(list(csv.DictReader(io.StringIO(allrows)))) == 121
    assert_problem(
        c.get("/api/v1/activities/export", params={"filter": "{field: x}"}), 422, "bad_filter"
    )


def test_alerts_read_close_comment(web: Web) -> None:
    seeded = seed(web)
    analyst = web.signed_in("analyst")
    listed = analyst.get("/api/v1/alerts", params={"status": "open"}).json()
    assert [a["id"] for a in listed["items"]] == [seeded.alert_id]
    one = analyst.get(f"/api/v1/alerts/{seeded.alert_id}").json()
    assert one["evidence_count"] == 3 and len(one["evidence"]) == 3
    assert one["evidence"][0]["source_event_id"] == "evt-000000"
    r = analyst.post(f"/api/v1/alerts/{seeded.alert_id}/comments", json={"text": "looking"})
    assert r.status_code == 201
    r = analyst.post(f"/api/v1/alerts/{seeded.alert_id}/close",
                     json={"resolution": "benign", "comment": "a test"})  # fmt: skip
    assert r.json()["status"] == "closed" and r.json()["resolution"] == "benign"
    one = analyst.get(f"/api/v1/alerts/{seeded.alert_id}").json()
    assert [e["event"] for e in one["timeline"]] == ["raised", "comment", "comment", "closed"]
    assert [(c["author"], c["text"]) for c in one["comments"]] == [
        ("analyst", "looking"),
        ("analyst", "a test"),
    ]
    assert one["timeline"][1]["author"] == "analyst"
    assert analyst.get("/api/v1/alerts", params={"status": "open"}).json()["items"] == []
    bad = analyst.post(f"/api/v1/alerts/{seeded.alert_id}/close", json={"resolution": "meh"})
    assert_problem(bad, 422, "invalid_request")
    assert_problem(analyst.get("/api/v1/alerts/nope"), 404, None)
    entry = web.store.portal.list_audit(action="alert.close")[0]
    assert (entry.actor, entry.target, entry.detail["resolution"]) == (
        "analyst",
        seeded.alert_id,
        "benign",
    )


def test_cli_json_is_the_api_shape_of_an_alert(web: Web, store_url: str) -> None:
    """``opencasb alerts --format json`` writes each alert as the API lists it, and
    ``alerts show --format json`` as the API reads it (less the portal's evidence
    activities, their paging and timeline): one shape, times with a ``Z``."""
    seeded = seed(web)
    analyst = web.signed_in("analyst")
    analyst.post(f"/api/v1/alerts/{seeded.alert_id}/comments", json={"text": "looking"})
    cli = cli_json(store_url, KEY, str(web.ctx.settings.data_dir))

    assert cli("alerts", "--format", "json") == analyst.get("/api/v1/alerts").json()["items"]
    api = analyst.get(f"/api/v1/alerts/{seeded.alert_id}").json()
    for portal_only in ("evidence", "evidence_missing", "evidence_next", "timeline"):
        del api[portal_only]
    (shown,) = cli("alerts", "show", seeded.alert_id, "--format", "json")
    assert shown == api and shown["evidence_ids"] and shown["comments"][0]["text"] == "looking"
    assert str(shown["created_at"]).endswith("Z")


def test_alert_paging(web: Web) -> None:
    seed(web)
    from opencasb.store.detection import AlertWrite

    writes = [
        AlertWrite(
            f"a{i:02d}",
            "p",
            f"alert {i}",
            "high" if i % 2 else "low",
            "c",
            None,
            "e",
            "x",
            (1,),
            T0,
            T0,
            False,
        )
        for i in range(7)
    ]
    web.store.detection.commit_stage(
        "more", expected=None, cursor=1, state="{}", new_alerts=writes, disabled={}
    )
    c = web.signed_in("read_only")
    ids: list[str] = []
    url: str | None = "/api/v1/alerts?limit=3"
    while url:
        page = c.get(url).json()
        ids += [a["id"] for a in page["items"]]
        url = page["next"]
    assert len(ids) == len(set(ids)) == 8
    high = c.get("/api/v1/alerts", params={"severity": "high"}).json()["items"]
    assert {a["id"] for a in high} == {"a01", "a03", "a05"}


def test_policies_templates_create_edit_enable_preview(web: Web) -> None:
    seed(web)
    analyst = web.signed_in("analyst")
    templates = analyst.get("/api/v1/policies/templates").json()["items"]
    assert len(templates) >= 10 and all(t["definition"] for t in templates)
    listed = analyst.get("/api/v1/policies").json()["items"]
    assert listed[0]["id"] == "failed-sign-ins" and listed[0]["alerts"] == 1
    draft = (
        "id: pw-change\nname: Password changed\nseverity: low\ncategory: threat_detection\n"
        "filter:\n  field: activity_type\n  equals: user.account.update_password\n"
    )
    web.clock.advance(3600)
    preview = analyst.post("/api/v1/policies/preview", json={"definition": draft, "days": 2})
    out = preview.json()
    assert preview.status_code == 200 and out["scanned"] == 121 and out["matched"] == 40
    assert len(out["alerts"]) == 40 and out["activities"][0]["source_event_id"] == "evt-000117"
    assert web.store.detection.list_alerts(limit=100)[0].id == "alert-0001"  # nothing stored
    r = analyst.post("/api/v1/policies", json={"definition": draft, "enabled": False})
    assert r.status_code == 201 and r.json()["enabled"] is False
    assert_problem(
        analyst.post("/api/v1/policies", json={"definition": draft}), 409, "policy_exists"
    )
    edited = draft.replace("severity: low", "severity: high")
    r = analyst.put("/api/v1/policies/pw-change", json={"definition": edited})
    assert r.json()["severity"] == "high"
    other = edited.replace("id: pw-change", "id: other")
    renamed = analyst.put("/api/v1/policies/pw-change", json={"definition": other})
    assert_problem(renamed, 400, "policy_id_changed")
    assert analyst.post("/api/v1/policies/pw-change/enable").json()["enabled"] is True
    off = analyst.post("/api/v1/policies/pw-change/disable").json()
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by analyst"
    from_template = analyst.post("/api/v1/policies/mass-download/enable").json()
    assert from_template["enabled"] is True and from_template["template"] == "mass-download"
    broken = analyst.post("/api/v1/policies", json={"definition": "id: x\nname: [unclosed"})
    assert_problem(broken, 422, None)
    assert analyst.delete("/api/v1/policies/pw-change").status_code == 204
    actions = {e.action for e in web.store.portal.list_audit(limit=50)}
    assert {"policy.create", "policy.edit", "policy.enable", "policy.disable",
            "policy.remove"} <= actions  # fmt: skip


def test_a_stored_policy_with_a_placeholder_is_not_enabled(web: Web) -> None:
    """The break-glass template stored disabled, its placeholder left in: the API and the
    portal refuse to enable it and name the field; filled in, it is enabled."""
    analyst = web.signed_in("analyst")
    glass = "break-glass-account-used"
    r = analyst.post("/api/v1/policies", json={"template_id": glass, "enabled": False})
    assert r.status_code == 201 and r.json()["enabled"] is False
    refused = analyst.post(f"/api/v1/policies/{glass}/enable")
    assert_problem(refused, 400, "policy_needs_values")
    body = refused.json()
    assert "scope.include_users[0] (<break-glass account e-mail>)" in body["detail"]
    assert f"PUT /api/v1/policies/{glass}" in body["fix"]
    page = analyst.post(f"/policies/{glass}/enable",
                        data={"csrf_token": analyst.headers["X-CSRF-Token"]})  # fmt: skip
    assert page.status_code == 422 and "scope.include_users[0]" in page.text
    assert not web.store.detection.list_policies()[0].enabled
    definition = analyst.get(f"/api/v1/policies/{glass}").json()["definition"]
    filled = definition.replace("<break-glass account e-mail>", "bg@example.com")
    analyst.put(f"/api/v1/policies/{glass}", json={"definition": filled})
    assert analyst.post(f"/api/v1/policies/{glass}/enable").json()["enabled"] is True


def test_policies_list_shows_the_findings_suppressed_today(web: Web) -> None:
    from opencasb.detect.stage import DetectionStage

    seed(web)  # 40 password changes today, two minutes apart at most
    analyst = web.signed_in("analyst")
    capped = (
        "id: pw-change\nname: Password changed\nseverity: low\ncategory: threat_detection\n"
        "daily_alert_limit: 1\nepisode_gap: 0\n"  # an alert per change: the limit bites
        "filter: {field: activity_type, equals: user.account.update_password}\n"
    )
    assert analyst.post("/api/v1/policies", json={"definition": capped}).status_code == 201
    assert DetectionStage(web.store, web.clock).run_until_caught_up().committed
    items = {i["id"]: i for i in analyst.get("/api/v1/policies").json()["items"]}
    assert items["pw-change"]["alerts"] == 1
    assert items["pw-change"]["suppressed_today"] == 39  # the other 39: counted, not raised
    assert items["failed-sign-ins"]["suppressed_today"] == 0
    page = web.signed_in("read_only").get("/policies").text
    assert "39 suppressed today (daily alert limit)" in page
    assert page.count("suppressed today") == 1 and 'id="anomaly-suppressed"' not in page
    web.clock.advance(86_400)  # the next day: nothing suppressed yet
    analyst = web.signed_in("analyst")  # the session of yesterday has expired
    items = {i["id"]: i for i in analyst.get("/api/v1/policies").json()["items"]}
    assert items["pw-change"]["suppressed_today"] == 0


def test_policies_list_shows_the_anomaly_detections_suppressed_today(web: Web) -> None:
    """The built-in detectors are not policies: theirs come apart, by detector id."""
    from tests.store.conftest import make_activity, save_page

    from opencasb.detect.anomaly import AnomalySettings
    from opencasb.detect.stage import DetectionStage
    from opencasb.model.activity import Actor
    from opencasb.model.inventory import Account

    store = web.store
    iid = store.add_instance("okta", "caps", {}, {}).id
    users = ["zed0", "zed1", "zed2"]
    accounts = [
        Account(id=u, email=f"{u}@example.com", name=None, status="SUSPENDED") for u in users
    ]
    store.replace_inventory(iid, accounts, [])
    acts = [
        make_activity(
            n,
            time=web.clock.now(),
            source_event_id=f"{u}-{n}",
            actor=Actor(id=u, email=f"{u}@example.com", type="User"),
        )
        for n, u in enumerate(users)
    ]
    save_page(store, iid, "logs", acts, {"n": 1})
    capped = AnomalySettings(daily_alert_limit=1)
    assert DetectionStage(store, web.clock, anomaly=capped).run_until_caught_up().committed
    body = web.signed_in("analyst").get("/api/v1/policies").json()
    assert body["anomaly_suppressed_today"] == {"anomaly.disabled_user_activity": 2}
    page = web.signed_in("read_only").get("/policies").text
    assert 'id="anomaly-suppressed"' in page
    assert '<span class="mono">anomaly.disabled_user_activity</span> 2.' in page


def test_inventory_quarantine_settings(web: Web) -> None:
    seed(web)
    c = web.signed_in("read_only")
    accounts = c.get("/api/v1/accounts").json()
    assert [a["id"] for a in accounts["items"]] == ["00u1", "00u2"]
    assert accounts["items"][0]["groups"] == ["Admins"]
    assert accounts["items"][0]["admin_roles"] == ["SUPER_ADMIN"]
    assert [
        a["id"] for a in c.get("/api/v1/accounts", params={"admins": True}).json()["items"]
    ] == ["00u1"]
    page = c.get("/api/v1/accounts", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and c.get(page["next"]).json()["items"][0]["id"] == "00u2"
    people = c.get("/api/v1/people", params={"q": "user1"}).json()["items"]
    assert people[0]["email"] == "user1@example.com" and people[0]["apps"] == ["okta"]
    groups = c.get("/api/v1/groups").json()["items"]
    assert groups[0]["name"] == "Admins" and groups[0]["member_ids"] == ["00u1"]
    rejected = c.get("/api/v1/rejected").json()["items"]
    assert rejected[0]["error"] == "no time" and HOSTILE in json.loads(rejected[0]["raw"])["bad"]
    assert c.get(f"/api/v1/rejected/{rejected[0]['id']}").json()["id"] == rejected[0]["id"]
    settings = c.get("/api/v1/settings").json()
    assert settings["retention_days"] == 180 and "secret_key" not in settings
