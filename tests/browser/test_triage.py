"""Triage in the browser: close an alert; what a read-only user sees; hostile records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import Portal, Sandboxes, Shots
from tests.browser.test_portal import OKTA, ensure_connected

from opencasb.errors import NotFound
from opencasb.model.activity import Activity, Actor, Category, Geo, Outcome, Target
from opencasb.store import PageWrite

pytestmark = pytest.mark.e2e

SCRIPT = "<script>window.__pwned = 1</script>"
IMG = '<img src="x" onerror="window.__pwned = 2">'
ESCAPES = "Mozilla/5.0 \x1b[2J\x1b]52;c;ZXZpbA==\x07 \u202eevil"


def test_open_an_alert_and_close_it_as_false_positive(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    ensure_connected(portal, sandboxes)
    assert portal.store.detection.list_alerts(status="open"), "the sandbox raises alerts"
    page = sign_in("analyst")
    page.get_by_role("navigation").get_by_role("link", name="Alerts").click()
    shot(page, "alerts")
    first = page.locator("tbody tr td a").first
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    expect(page.get_by_role("heading", name="Evidence")).to_be_visible()
    shot(page, "alert")
    alert_url = page.url
    # evidence links to its record in the activity log
    page.locator("table tbody tr td a").first.click()
    expect(page.get_by_role("complementary", name="Activity record")).to_be_visible()
    page.goto(alert_url)
    page.get_by_label("False positive").check()
    page.fill("#close-comment", "the sandbox's own test traffic")
    page.get_by_role("button", name="Close alert").click()
    expect(page.locator(".bar .badge").last).to_have_text("closed: False positive")
    expect(page.locator(".timeline")).to_contain_text("closed as False positive")
    expect(page.locator(".timeline")).to_contain_text("the sandbox's own test traffic")
    comment = page.locator("article.comment").last
    expect(comment.locator("header strong")).to_have_text("ana")  # who closed it
    expect(comment.locator("p")).to_have_text("the sandbox's own test traffic")
    shot(page, "alert-closed")
    alert_id = alert_url.rsplit("/", 1)[1]
    closed = portal.store.detection.get_alert(alert_id)
    assert (closed.status, closed.resolution) == ("closed", "false_positive")
    assert closed.title == title
    assert [(c.author, c.text) for c in closed.comments] == [
        ("ana", "the sandbox's own test traffic")
    ]


def _hostile(portal: Portal) -> Activity:
    """A stored record whose every text field is hostile."""
    store = portal.store
    try:
        rec = store.get_instance("hostile")
    except NotFound:
        rec = store.add_instance("okta", "hostile", {"domain": "import"}, {}, enabled=False)
    a = Activity(
        time=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        app="okta",
        source_event_id="evil-1",
        activity_type=f"user.session.start{IMG}",
        category=Category.LOGON,
        action="login",
        outcome=Outcome.FAILURE,
        actor=Actor(id="00u1", name=SCRIPT, email="mallory@evil.test", type="User"),
        raw={"displayMessage": SCRIPT, "client": {"userAgent": {"rawUserAgent": ESCAPES}}},
        targets=(Target(id="t1", type="File", name=IMG),),
        src_ip="203.0.113.9",
        geo=Geo(country="<i>Nowhere</i>", country_code="ZZ", city=ESCAPES),
        user_agent=ESCAPES,
        description=f"<b>bold</b> {SCRIPT}",
    )
    store.save_pages([PageWrite.of(rec.id, "logs", [a], {"hostile": True})])
    return a


def test_a_record_with_html_script_and_control_characters_shows_as_text(
    sign_in: Any, portal: Portal, shot: Shots
) -> None:
    _hostile(portal)
    page = sign_in("admin")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/activities?user=mallory@evil.test&open=evil-1&open_instance=hostile")
    drawer = page.get_by_role("complementary", name="Activity record")
    expect(drawer).to_contain_text(SCRIPT)
    expect(drawer).to_contain_text(IMG)
    expect(drawer).to_contain_text("\\x1b[2J")  # the escape is shown, not interpreted
    expect(drawer).to_contain_text("\\u202eevil")
    expect(page.locator("tbody")).to_contain_text("user.session.start" + IMG)
    shot(page, "hostile-record")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("main b, main i, main img, main script").count() == 0
    assert dialogs == []


def test_a_read_only_user_sees_no_button_that_changes_anything(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    ensure_connected(portal, sandboxes)
    alert = portal.store.detection.list_alerts(status="")[0]
    page = sign_in("read_only")
    pages = [
        "/dashboard",
        "/apps",
        f"/apps/{OKTA}",
        "/activities",
        f"/alerts/{alert.id}",
        "/alerts",
        "/policies",
        "/policies/failed-sign-ins",
        "/accounts",
        "/settings",
    ]
    for path in pages:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        # the only form that posts is signing out, in the header
        assert page.locator("main form[method=post]").count() == 0, path
        # every other button only searches (a GET form)
        buttons = page.locator("main button").count()
        assert buttons == page.locator("main form[method=get] button").count(), path
        shot(page, "read-only " + path)
    expect(page.locator("summary", has_text="Connect an app")).to_have_count(0)
    # a post made anyway, even with the session's own token, is refused
    token = page.locator("header input[name=csrf_token]").get_attribute("value")
    refused = page.request.post(
        f"/alerts/{alert.id}/close", form={"csrf_token": token or "", "resolution": "benign"}
    )
    assert refused.status == 403
    assert portal.store.detection.get_alert(alert.id).resolution != "benign"


def test_a_cross_site_form_post_is_refused(sign_in: Any, portal: Portal) -> None:
    page = sign_in("admin")
    refused = page.request.post("/apps/connect/okta", form={"name": "x", "domain": "a.okta.com"})
    assert refused.status == 403
    assert "CSRF" in refused.text()


def test_a_new_policy_from_a_search_previewed_then_saved(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    ensure_connected(portal, sandboxes)
    page = sign_in("analyst")
    page.goto("/activities?outcome=failure&app=okta")
    page.get_by_role("button", name="New policy from this search").click()
    definition = page.locator("#definition")
    expect(definition).to_contain_text("equals: failure")
    page.fill("#days", "30")
    page.get_by_role("button", name="Preview matches").click()
    expect(page.get_by_role("heading", name="Preview:")).to_contain_text("matching activities")
    expect(page.locator("section.card tbody tr").first).to_contain_text("okta")
    shot(page, "policy-preview")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("heading", name="My policy")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Policies").click()
    row = page.locator("tbody tr", has_text="my-policy")
    expect(row).to_contain_text("enabled")
    shot(page, "policies")
    saved = {r.id: r for r in portal.store.detection.list_policies()}["my-policy"]
    assert "failure" in saved.definition and saved.enabled


def test_every_page_renders_and_an_admin_creates_an_api_token(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    ensure_connected(portal, sandboxes)
    page = sign_in("admin")
    page.goto("/dashboard")
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, "dashboard")
    page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    expect(page.locator("main")).to_contain_text("people")
    shot(page, "accounts")
    page.locator("tbody tr td a").first.click()
    expect(page.get_by_role("heading", name="Newest activities")).to_be_visible()
    shot(page, "person")
    page.get_by_role("navigation").get_by_role("link", name="Settings").click()
    page.fill("#token-name", "siem-export")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert portal.store.portal.find_token(_digest(token)) is not None
    shot(page, "settings-token-created")
    page.goto("/settings")  # shown once: the settings page does not show it again
    expect(page.locator("#new-token")).to_have_count(0)


def _digest(value: str) -> str:
    from opencasb.web.auth.credentials import digest

    return digest(value)
