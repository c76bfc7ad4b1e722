"""Settings in a real browser: an admin adds a webhook notifier and sends it a test (a real
receiver on loopback checks the signature), sees the Sigma rule folder's rules and file
monitoring; the Policies page lists the Sigma rules read-only; a read-only user sees the
notifiers and no control."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import Portal, Shots
from tests.notify.receivers import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "browser-test-signing-key-0001"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(key=KEY).start()
    try:
        yield r
    finally:
        r.stop()


def test_an_admin_adds_and_tests_a_webhook_and_sees_the_sigma_folder(
    sign_in: Any, portal: Portal, shot: Shots, receiver: WebhookReceiver
) -> None:
    for n in portal.store.notifications.all():  # the session's portal is shared
        portal.store.notifications.remove(n.name)
    page = sign_in("admin")
    page.goto("/settings")
    page.locator("summary", has_text="Webhook").click()
    page.fill("#wh-name", "soar")
    page.fill("#wh-url", receiver.url)
    page.fill("#wh-key", KEY)
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("status").first).to_contain_text("Added the webhook notifier soar")
    row = page.locator("#notifiers tbody tr", has_text="soar")
    expect(row).to_contain_text(receiver.url)
    row.get_by_role("button", name="Send a test").click()
    expect(page.get_by_role("status").first).to_contain_text("Test sent to soar")
    assert len(receiver.received) == 1 and receiver.received[0].body["test"] is True
    assert KEY not in page.content()
    sigma = page.locator("#sigma")
    expect(sigma).to_contain_text("5 rule(s) evaluated, 0 not")
    expect(sigma).to_contain_text("Okta API Token Created")
    expect(page.locator("#file-monitoring")).to_contain_text("OPENCASB_FILE_MONITORING=true")
    shot(page, "settings-notifier-tested")
    page.goto("/policies")
    expect(page.get_by_role("heading", name="Sigma rules")).to_be_visible()
    expect(page.locator("td.mono", has_text="okta/okta_api_token_created.yml")).to_be_visible()
    shot(page, "policies-with-sigma")
    ro = sign_in("read_only")
    ro.goto("/settings")
    expect(ro.locator("#notifiers tbody tr", has_text="soar")).to_be_visible()
    expect(ro.get_by_role("button", name="Send a test")).to_have_count(0)
    expect(ro.get_by_text("Add a notifier")).to_have_count(0)
    expect(ro.locator("#notifiers form")).to_have_count(0)
    shot(ro, "read-only-settings-notifiers")
