"""``/api/v1/iptags`` on both engines: create, list with keyset paging, read, look up,
export, delete, import a file (every bad line in the problem, nothing stored then), the
audit trail, and the portal's enricher following the change at once."""

from __future__ import annotations

import json

import pytest
from tests.web.conftest import KEY, Web
from tests.web.helpers import assert_problem, cli_json
from tests.web.seed import seed

from opencasb.web.api import iptags as api_module


def test_create_list_page_read_lookup_export_delete(web: Web) -> None:
    c = web.signed_in("analyst")
    made = []
    for i in range(5):
        r = c.post(
            "/api/v1/iptags",
            json={"network": f"10.{i}.0.0/16", "tag": "Corp", "name": f"office {i}"},
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    assert made[0]["tag"] == "corporate" and made[0]["source"] == "api:analyst"
    assert made[0]["created_by"] == "analyst" and made[-1]["version"] == 5
    c.post("/api/v1/iptags", json={"network": "2001:db8::/32", "tag": "cloud"})
    ro = web.signed_in("read_only")
    first = ro.get("/api/v1/iptags", params={"limit": 2}).json()
    assert first["version"] == 6 and len(first["items"]) == 2
    seen = [x["id"] for x in first["items"]]
    nxt = first["next"]
    while nxt:
        page = ro.get(nxt).json()
        seen += [x["id"] for x in page["items"]]
        nxt = page["next"]
    assert seen == sorted(seen) and len(seen) == 6
    only = ro.get("/api/v1/iptags", params={"tag": "cloud_provider"}).json()
    assert [x["network"] for x in only["items"]] == ["2001:db8::/32"] and only["next"] is None
    one = ro.get(f"/api/v1/iptags/{made[2]['id']}").json()
    assert one["network"] == "10.2.0.0/16" and one["name"] == "office 2"
    found = ro.get("/api/v1/iptags/lookup/10.3.9.9").json()
    assert found["tags"] == ["corporate"] and [x["id"] for x in found["ranges"]] == [made[3]["id"]]
    csv_text = ro.get("/api/v1/iptags/export", params={"tag": "corporate"})
    assert csv_text.headers["content-type"].startswith("text/csv")
    assert csv_text.text.splitlines()[:2] == ["network,tag,name", "10.0.0.0/16,corporate,office 0"]
    assert c.delete(f"/api/v1/iptags/{made[0]['id']}").status_code == 204
    assert_problem(ro.get(f"/api/v1/iptags/{made[0]['id']}"), 404, "ip_range_not_found")
    assert_problem(c.delete(f"/api/v1/iptags/{made[0]['id']}"), 404, "ip_range_not_found")
    assert_problem(c.delete("/api/v1/iptags/-1"), 404, "ip_range_not_found")
    spec = c.get("/api/openapi.json").json()["paths"]["/api/v1/iptags/import"]["post"]
    assert "text/plain" in spec["requestBody"]["content"]
    assert_problem(ro.get("/api/v1/iptags", params={"after": "@@"}), 400, "bad_page_token")
    assert_problem(ro.get("/api/v1/iptags/lookup/x"), 400, "bad_ip")
    v6 = ro.get("/api/v1/iptags/lookup/2001:db8::1").json()
    assert v6["tags"] == ["cloud_provider"]
    dup = c.post("/api/v1/iptags", json={"network": "10.1.0.0/16", "tag": "corporate"})
    assert "already tagged corporate" in assert_problem(dup, 409, "ip_range_exists")["detail"]
    bad = c.post("/api/v1/iptags", json={"network": "10.1.0.1/16", "tag": "corporate"})
    assert "host bits set" in str(assert_problem(bad, 400, "bad_ip_range")["detail"])
    actions = [(a.action, a.actor, a.target) for a in web.store.portal.list_audit(limit=100)]
    assert ("iptag.remove", "analyst", "10.0.0.0/16 corporate") in actions
    assert sum(a == "iptag.add" for a, _, _ in actions) == 6


def test_cli_json_is_the_api_shape_of_a_range(web: Web, store_url: str) -> None:
    """``opencasb iptags list|lookup --format json`` writes each range as the API answers
    it: one shape (``store.iptags.iptag_json``), times with a ``Z``."""
    c = web.signed_in("analyst")
    for body in (
        {"network": "10.9.0.0/16", "tag": "corporate", "name": "HQ"},
        {"network": "10.9.8.0/24", "tag": "vpn"},
    ):
        assert c.post("/api/v1/iptags", json=body).status_code == 201
    cli = cli_json(store_url, KEY, str(web.ctx.settings.data_dir))

    listed = sorted(cli("iptags", "list", "--format", "json"), key=lambda r: str(r["id"]))
    api = sorted(c.get("/api/v1/iptags").json()["items"], key=lambda r: str(r["id"]))
    assert listed == api and len(listed) == 2
    assert all(str(r["created_at"]).endswith("Z") for r in listed)
    (found,) = cli("iptags", "lookup", "10.9.8.7", "--format", "json")
    by_api = c.get("/api/v1/iptags/lookup/10.9.8.7").json()
    assert found["ranges"] == by_api["ranges"] and found["tags"] == by_api["tags"]


def test_import_lists_every_bad_line_and_stores_nothing(web: Web) -> None:
    c = web.signed_in("analyst")
    body = "185.220.102.0/24\nbanana\n10.0.0.1/8\n" + "".join(f"x{i}\n" for i in range(70))
    r = c.post(
        "/api/v1/iptags/import",
        params={"name": "exits.txt", "tag": "tor"},
        content=body.encode(),
        headers={"Content-Type": "text/plain"},
    )
    problem = assert_problem(r, 422, "iptags_file_invalid")
    lines = problem["problems"]
    assert isinstance(lines, list) and len(lines) == 72  # every one, not the first 50
    assert lines[0] == {"line": 2, "message": lines[0]["message"]}
    assert "'banana' is not a network" in lines[0]["message"]
    assert lines[1]["line"] == 3 and "host bits set" in lines[1]["message"]
    assert lines[-1]["line"] == 73
    assert web.store.ip_tags.records() == [] and web.store.ip_tags.version() == 0
    latin = c.post("/api/v1/iptags/import", params={"name": "x.txt"}, content=b"\xff\xfe1")
    assert "not UTF-8" in str(assert_problem(latin, 422, "iptags_file_invalid")["problems"])
    no_tag = c.post("/api/v1/iptags/import", params={"name": "x.txt"}, content=b"10.0.0.0/8\n")
    assert "no tag" in str(assert_problem(no_tag, 422, "iptags_file_invalid")["problems"])


def test_import_replaces_the_same_names_ranges_and_is_audited(web: Web) -> None:
    c = web.signed_in("analyst")
    c.post("/api/v1/iptags", json={"network": "203.0.113.0/24", "tag": "tor"})
    first = c.post(
        "/api/v1/iptags/import",
        params={"name": "exits.txt", "tag": "tor"},
        content=b"185.220.102.0/24\n185.220.103.0/24\n",
    ).json()
    assert first == {
        "source": "file:exits.txt", "added": 2, "removed": 0, "unchanged": 0, "version": 2
    }  # fmt: skip
    again = c.post(
        "/api/v1/iptags/import",
        params={"name": "exits.txt"},
        content=b"network,tag,name\n185.220.103.0/24,tor,\n185.220.104.0/24,tor,new\n",
    ).json()
    assert (again["added"], again["removed"], again["unchanged"]) == (1, 1, 1)
    sources = sorted(r.source for r in web.store.ip_tags.records())
    assert sources == ["api:analyst", "file:exits.txt", "file:exits.txt"]
    c.post(
        "/api/v1/iptags/import",
        params={"name": "exits.txt", "replace": "true"},
        content=b"185.220.103.0/24,tor\n",
    )
    assert [r.network for r in web.store.ip_tags.records()] == ["185.220.103.0/24"]
    (entry, *_) = web.store.portal.list_audit(action="iptag.import")
    assert entry.actor == "analyst" and entry.target == "file:exits.txt"
    assert entry.detail["replace"] == ["tor"] and entry.detail["removed"] == 2


def test_an_import_larger_than_the_limit_is_refused(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_module, "MAX_IMPORT_BYTES", 100)
    c = web.signed_in("analyst")
    r = c.post("/api/v1/iptags/import", params={"name": "big.txt", "tag": "tor"},
               content=b"10.0.0.0/8\n" * 20)  # fmt: skip
    assert_problem(r, 413, "iptags_file_too_large")
    assert web.store.ip_tags.records() == []


def test_the_portal_enricher_follows_the_stored_tags(web: Web) -> None:
    """A filter on the IP tags answers with the tags as they are now (the app reloads
    them when their version moved, on the next request)."""
    seed(web)
    ro, analyst = web.signed_in("read_only"), web.signed_in("analyst")
    flt = json.dumps({"field": "ip_tags", "equals": "threat_intel"})

    def matching() -> list[str]:
        r = ro.get("/api/v1/activities", params={"filter": flt, "limit": 1000})
        assert r.status_code == 200, r.text
        return [a["source_event_id"] for a in r.json()["items"]]

    assert matching() == []
    made = analyst.post("/api/v1/iptags", json={"network": "203.0.113.9", "tag": "ti"}).json()
    # the seeded record from 203.0.113.9 (its record shows the enrichment stored at ingest;
    # the filter reads the tags as they are now)
    assert matching() == ["evt-000120"]
    analyst.delete(f"/api/v1/iptags/{made['id']}")
    assert matching() == []
