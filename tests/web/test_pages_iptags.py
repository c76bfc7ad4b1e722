"""The IP tags page (/settings/ip-tags) on both engines: an analyst adds, removes and imports
(every bad line of a file listed, nothing stored then); a read-only viewer sees the ranges
and no control; names are shown as text; the Settings page links to it."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tests.web.seed import HOSTILE

from opencasb.web.pages import iptags as page_module


def _form(client, **fields: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": client.headers["X-CSRF-Token"], **fields}


def _post(client, path: str, **kw):  # type: ignore[no-untyped-def]
    # a browser's form post carries the token in the form, not in a header
    return client.post(path, headers={"X-CSRF-Token": ""}, **kw)


def test_an_analyst_adds_imports_and_removes(web: Web) -> None:
    c = web.signed_in("analyst")
    empty = c.get("/settings/ip-tags")
    assert empty.status_code == 200 and "No IP range is tagged yet." in empty.text
    assert 'action="/settings/ip-tags/add"' in empty.text
    wrong = _form(c, network="203.0.113.0/24", tag="Corp", name=HOSTILE)
    refused_name = _post(c, "/settings/ip-tags/add", data=wrong)
    assert refused_name.status_code == 422 and "one line of at most 200" in refused_name.text
    hostile = "<script>alert(1)</script>\u202e"
    r = _post(c, "/settings/ip-tags/add",
              data=_form(c, network="203.0.113.0/24", tag="Corp", name=hostile))  # fmt: skip
    assert r.status_code == 200 and "Tagged 203.0.113.0/24 as corporate." in r.text
    # the name is the user's text: escaped, a bidirectional override made visible
    assert "<script>alert(1)</script>" not in r.text and "\u202e" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\u202e" in r.text
    bad = _post(c, "/settings/ip-tags/add", data=_form(c, network="203.0.113.9/24", tag="vpn"))
    assert bad.status_code == 422 and "host bits set" in bad.text
    upload = "185.220.102.0/24\nbanana\n" + "".join(f"nope{i}\n" for i in range(60))
    refused = _post(c, "/settings/ip-tags/import", data=_form(c, tag="tor"),
                    files={"file": ("exits.txt", upload.encode(), "text/plain")})  # fmt: skip
    assert refused.status_code == 422
    assert "61 bad line(s) in exits.txt: nothing was imported" in refused.text
    items = re.findall(r"<li>line (\d+): ", refused.text)
    assert items == [str(n) for n in range(2, 63)]  # every one
    assert [r.network for r in web.store.ip_tags.records()] == ["203.0.113.0/24"]
    two = b"185.220.102.0/24\n185.220.103.0/24 # b\n"
    done = _post(c, "/settings/ip-tags/import", data=_form(c, tag="tor"),
                 files={"file": ("exits.txt", two)})  # fmt: skip
    assert "Imported exits.txt: 2 added, 0 removed, 0 unchanged." in done.text
    page = c.get("/settings/ip-tags").text
    assert page.index('id="tag-corporate"') < page.index('id="tag-tor"')
    assert "file:exits.txt" in page
    only = c.get("/settings/ip-tags", params={"tag": "tor"}).text
    assert ">185.220.103.0/24</td>" in only and ">203.0.113.0/24</td>" not in only
    tor_id = next(r.id for r in web.store.ip_tags.records() if r.network == "185.220.102.0/24")
    gone = _post(c, f"/settings/ip-tags/{tor_id}/remove", data=_form(c))
    assert "Removed 185.220.102.0/24 (tor)." in gone.text
    assert _post(c, f"/settings/ip-tags/{tor_id}/remove", data=_form(c)).status_code == 404
    csv_file = b"network,tag,name\n10.0.0.0/8,corporate,HQ\n"
    replaced = _post(c, "/settings/ip-tags/import", data=_form(c, replace="1"),
                     files={"file": ("c.csv", csv_file)})  # fmt: skip
    assert "1 added, 1 removed" in replaced.text
    assert sorted(r.network for r in web.store.ip_tags.records()) == [
        "10.0.0.0/8", "185.220.103.0/24"
    ]  # fmt: skip
    none = _post(c, "/settings/ip-tags/import", data=_form(c))
    assert none.status_code == 422 and "choose a file to import" in none.text
    actions = [a.action for a in web.store.portal.list_audit(limit=50)]
    assert actions.count("iptag.import") == 2 and "iptag.remove" in actions
    assert "iptag.add" in actions


def test_paging_through_many_ranges(web: Web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(page_module, "PAGE_SIZE", 3)
    for i in range(7):
        web.store.ip_tags.add(f"10.{i}.0.0/16", "vpn", source="cli", created_by="t")
    c = web.signed_in("read_only")
    seen: list[str] = []
    path = "/settings/ip-tags"
    while path:
        html = c.get(path).text
        seen += re.findall(r'<td class="mono">(10\.\d+\.0\.0/16)</td>', html)
        nxt = re.search(r'href="(/settings/ip-tags\?[^"]*after=\d+)">Next page', html)
        path = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert seen == [f"10.{i}.0.0/16" for i in range(7)]


def test_read_only_sees_the_ranges_and_no_control(web: Web) -> None:
    rec = web.store.ip_tags.add("192.0.2.0/24", "tor", source="cli", created_by="t")
    ro = web.signed_in("read_only")
    page = ro.get("/settings/ip-tags").text
    assert "192.0.2.0/24" in page
    assert '<form method="post"' not in page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "Remove" not in page and "Import a file" not in page and "Tag a range" not in page
    for path, kw in [
        ("/settings/ip-tags/add", {"data": _form(ro, network="198.51.100.0/24", tag="vpn")}),
        (f"/settings/ip-tags/{rec.id}/remove", {"data": _form(ro)}),
        ("/settings/ip-tags/import",
         {"data": _form(ro, tag="tor"), "files": {"file": ("x.txt", b"10.0.0.0/8\n")}}),
    ]:  # fmt: skip
        assert _post(ro, path, **kw).status_code == 403, path
    assert web.store.ip_tags.records() == [rec] and web.store.ip_tags.version() == 1
    settings = ro.get("/settings").text
    assert 'href="/settings/ip-tags"' in settings


def test_a_post_without_the_csrf_token_changes_nothing(web: Web) -> None:
    c = web.signed_in("admin")
    for token in ("", "0" * 64):
        r = _post(c, "/settings/ip-tags/add",
                  data={"csrf_token": token, "network": "10.0.0.0/8", "tag": "vpn"})  # fmt: skip
        assert r.status_code == 403 and "CSRF" in r.text
        r = _post(c, "/settings/ip-tags/import", data={"csrf_token": token},
                  files={"file": ("x.txt", b"10.0.0.0/8,vpn\n")})  # fmt: skip
        assert r.status_code == 403
    assert web.store.ip_tags.records() == []
