"""The portal in a real browser: sign in, connect both apps through their dialogs, search
the activity log, triage an alert, and what a read-only user sees."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import Portal, Sandboxes, Shots

from opencasb.clock import SystemClock
from opencasb.errors import NotFound
from opencasb.ingest.runner import IngestRunner
from opencasb.web.pages import app_ops

pytestmark = pytest.mark.e2e

OKTA = "okta-sandbox"
O365 = "office365-sandbox"


def _connect_okta_in_dialog(page: Any, sb: Sandboxes, shot: Shots) -> None:
    page.goto("/apps")
    page.locator("summary", has_text="Connect an app").click()
    page.get_by_role("link", name="Okta").click()
    expect(page.get_by_role("heading", name="Connect Okta")).to_be_visible()
    page.fill("#name", OKTA)
    page.fill("#domain", sb.okta_url)
    page.fill("#token", sb.okta_token)
    page.get_by_text("Advanced").click()
    page.fill("#ca_bundle", sb.ca)
    shot(page, "connect-okta-dialog")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Okta connected")).to_be_visible(timeout=30_000)
    shot(page, "okta-connected")
    page.get_by_role("button", name="Test API").click()
    expect(page.get_by_text("Test passed")).to_be_visible()
    shot(page, "okta-test-api")


def _connect_o365_in_dialog(page: Any, sb: Sandboxes, shot: Shots) -> None:
    page.goto("/apps")
    page.locator("summary", has_text="Connect an app").click()
    page.get_by_role("link", name="Office 365").click()
    expect(page.get_by_role("heading", name="Connect Office 365")).to_be_visible()
    page.fill("#name", O365)
    page.fill("#tenant_id", sb.o365.tenant_id)
    page.fill("#client_id", sb.o365.client_id)
    page.fill("#client_secret", sb.o365.client_secret)
    expect(page.locator("input[name=components]")).to_have_count(0)  # the next step's
    page.get_by_text("Advanced").click()
    page.fill("#endpoint", sb.o365_url)
    page.fill("#ca_bundle", sb.ca)
    page.fill("#backfill_days", "2")
    page.fill("#requests_per_minute", "60000")  # the emulator's budget, not a tenant's
    shot(page, "connect-office365-dialog")
    page.get_by_role("button", name="Connect Office 365").click()
    page.wait_for_load_state()
    problem = page.locator(".problem")
    assert problem.count() == 0, problem.inner_text()
    # step 2: the components checklist of the instance just saved
    expect(page.get_by_role("heading", name="Office 365 components")).to_be_visible(timeout=30_000)
    activities = page.locator("input[name=components][value=activities]")
    files = page.locator("input[name=components][value=files]")
    expect(activities).to_be_checked()  # everything but Files is on by default
    expect(files).not_to_be_checked()
    expect(files).to_be_disabled()  # file monitoring is off in these settings
    expect(page.locator("#file-monitoring")).to_contain_text("File monitoring is off")
    page.get_by_label("Azure AD apps").uncheck()
    shot(page, "connect-office365-components")
    page.get_by_role("button", name="Save components").click()
    expect(page.get_by_role("heading", name="Office 365 connected")).to_be_visible(timeout=30_000)
    expect(
        page.get_by_text("Components: Azure AD users and groups, Azure AD management")
    ).to_be_visible()
    shot(page, "office365-connected")
    page.get_by_role("link", name="Close").click()
    expect(page).to_have_url(f"{page.url.split('/apps')[0]}/apps")


def _sync(portal: Portal) -> None:
    """One ingest pass of both instances and the detection stage (as `opencasb serve` does
    in the background), with every shipped template switched on so that the small sandbox
    raises alerts (the tests' own policy set, not the demo's)."""
    from opencasb.cli.alerts_cmd import run_detection
    from opencasb.detect.stage import store_policy
    from opencasb.detect.templates import load_templates
    from opencasb.enrich import Enricher, load_ip_ranges
    from opencasb.errors import DocumentError
    from opencasb.sandbox.demo_lists import DEMO_LISTS, demo_list_path

    runner = IngestRunner(portal.store, clock=SystemClock())
    for name in (OKTA, O365):
        assert runner.run_once(name).error is None
    if not portal.store.detection.list_policies():
        for policy in load_templates():
            try:
                store_policy(portal.store, dataclasses.replace(policy, enabled=True))
            except DocumentError:
                continue  # a template with a <placeholder> to fill in
    ranges = [r for n in DEMO_LISTS for r in load_ip_ranges(demo_list_path(n))]
    run_detection(portal.store, SystemClock(), enricher=Enricher(ip_ranges=ranges))


def ensure_connected(portal: Portal, sb: Sandboxes) -> None:
    """Both sandbox apps connected and synced (the dialog test does it when run first)."""
    store = portal.store
    try:
        store.get_instance(OKTA)
    except NotFound:
        settings = {"domain": sb.okta_url, "ca_bundle": sb.ca, "auth": "ssws"}
        app_ops.connect(store, "okta", OKTA, settings, {"token": sb.okta_token})
    try:
        store.get_instance(O365)
    except NotFound:
        o = sb.o365
        settings = {
            "tenant_id": o.tenant_id, "client_id": o.client_id, "endpoint": sb.o365_url,
            "ca_bundle": sb.ca, "backfill_days": "2", "requests_per_minute": "60000",
        }  # fmt: skip
        app_ops.connect(store, "office365", O365, settings, {"client_secret": o.client_secret})
    if store.count_activities() == 0:
        _sync(portal)


def test_sign_in_and_connect_both_apps_through_the_dialogs(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    page = sign_in("admin")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    shot(page, "dashboard-empty")
    page.get_by_role("navigation").get_by_role("link", name="Connected apps").click()
    shot(page, "apps-before")
    _connect_okta_in_dialog(page, sandboxes, shot)
    _connect_o365_in_dialog(page, sandboxes, shot)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    _sync(portal)
    page.reload()
    for name in (OKTA, O365):
        row = page.locator("tbody tr", has_text=name)
        expect(row.locator(".badge")).to_have_text("connected")
    shot(page, "apps-connected")
    page.get_by_role("link", name=O365).click()
    expect(page.get_by_text("Services seen")).to_be_visible()
    shot(page, "app-office365")


def test_a_wrong_token_is_explained_and_nothing_is_saved(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    page = sign_in("admin")
    page.goto("/apps/connect/okta")
    page.fill("#name", "okta-wrong")
    page.fill("#domain", sandboxes.okta_url)
    page.fill("#token", "00notatoken")
    page.get_by_text("Advanced").click()
    page.fill("#ca_bundle", sandboxes.ca)
    page.get_by_role("button", name="Connect").click()
    problem = page.locator(".problem")
    expect(problem).to_contain_text("How to fix it")
    expect(page.locator("#token")).to_have_value("")  # a secret is never sent back
    shot(page, "connect-okta-wrong-token")
    with pytest.raises(NotFound):
        portal.store.get_instance("okta-wrong")


def test_search_the_activity_log_and_open_a_record(
    sign_in: Any, portal: Portal, sandboxes: Sandboxes, shot: Shots
) -> None:
    ensure_connected(portal, sandboxes)
    page = sign_in("admin")
    page.goto("/activities")
    shot(page, "activities")
    page.select_option("#q-outcome", "failure")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("tbody tr").first).to_contain_text("failure")
    page.locator("tbody tr td a").first.click()
    drawer = page.get_by_role("complementary", name="Activity record")
    expect(drawer.get_by_role("heading", name="Raw record")).to_be_visible()
    expect(drawer.get_by_role("heading", name="Enrichment")).to_be_visible()
    shot(page, "activities-drawer")
    drawer.get_by_role("link", name="Same user").click()
    expect(page.locator("#q-user")).not_to_have_value("")
    shot(page, "activities-same-user")
