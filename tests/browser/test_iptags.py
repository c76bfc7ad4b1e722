"""Settings › IP tags in a real browser: an analyst tags a range, uploads a file with bad
lines (every one listed, nothing stored), then a good one, and removes a range after the
confirmation; a read-only user sees the ranges and no control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import Portal, Shots

pytestmark = pytest.mark.e2e


def test_an_analyst_manages_ip_tags_and_read_only_sees_them(
    sign_in: Any, portal: Portal, shot: Shots, tmp_path: Path
) -> None:
    tags = portal.store.ip_tags
    for r in tags.records():  # the session's portal is shared: start from no tag
        tags.remove(str(r.id))
    page = sign_in("analyst")
    page.goto("/settings")
    page.get_by_role("link", name="Manage the IP tags").click()
    expect(page.get_by_role("heading", name="IP tags", exact=True)).to_be_visible()
    page.fill("#new-network", "203.0.113.0/24")
    page.fill("#new-tag", "corporate")
    page.fill("#new-name", "<b>Berlin</b> office")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Tagged 203.0.113.0/24 as corporate.")
    expect(page.locator("td.cell", has_text="<b>Berlin</b> office")).to_be_visible()
    bad = tmp_path / "exits.txt"
    bad.write_text("# Tor exits\n185.220.102.0/24\n185.220.103.0/33\nbanana\n")
    page.set_input_files("#import-file", str(bad))
    page.fill("#import-tag", "tor")
    page.get_by_role("button", name="Import").click()
    problems = page.get_by_role("list", name="Bad lines").locator("li")
    expect(problems).to_have_count(2)
    expect(problems.first).to_contain_text("line 3: '185.220.103.0/33' is not a network")
    expect(problems.last).to_contain_text("line 4: 'banana' is not a network")
    shot(page, "ip-tags-bad-file")
    assert [r.network for r in tags.records()] == ["203.0.113.0/24"]
    bad.write_text("# Tor exits\n185.220.102.0/24\n185.220.103.0/24\n")
    page.set_input_files("#import-file", str(bad))
    page.fill("#import-tag", "tor")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Imported exits.txt: 2 added")
    expect(page.get_by_role("heading", name="tor")).to_be_visible()
    shot(page, "ip-tags")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    row = page.locator("tr", has_text="185.220.102.0/24")
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Removed 185.220.102.0/24 (tor).")
    assert dialogs == ["Remove 185.220.102.0/24 (tor)?"]
    assert sorted(r.network for r in tags.records()) == ["185.220.103.0/24", "203.0.113.0/24"]
    ro = sign_in("read_only")
    ro.goto("/settings/ip-tags")
    expect(ro.locator("td.mono", has_text="185.220.103.0/24")).to_be_visible()
    expect(ro.get_by_role("button", name="Remove")).to_have_count(0)
    expect(ro.get_by_role("heading", name="Import a file")).to_have_count(0)
    expect(ro.get_by_role("heading", name="Tag a range")).to_have_count(0)
    shot(ro, "ip-tags-read-only")
