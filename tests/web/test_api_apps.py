"""``/api/v1/apps`` against the Okta and Office 365 emulators over HTTPS: connect (the CLI's
code path), test, edit, disable, enable, remove, and the failures with nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Web
from tests.web.helpers import assert_problem

from opencasb.clock import SystemClock
from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365_sandbox import O365Sandbox, build_o365_sandbox
from opencasb.sandbox.okta import RateLimits
from opencasb.sandbox.okta_sandbox import OktaSandbox, build_okta_sandbox
from opencasb.sandbox.server import SandboxServer
from opencasb.sandbox.tls import ensure_sandbox_tls


@dataclass(frozen=True)
class Orgs:
    okta: OktaSandbox
    okta_url: str
    o365: O365Sandbox
    o365_url: str
    ca: Path


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orgs]:
    clock = SystemClock()
    tls = ensure_sandbox_tls(tmp_path_factory.mktemp("web-tls"))
    anchor = clock.now() - timedelta(minutes=2)
    okta = build_okta_sandbox(
        seed=7, size=50, days=1, clock=clock, anchor=anchor, rate_limits=RateLimits(logs=100_000)
    )
    o365 = build_o365_sandbox(
        seed=7,
        size=50,
        days=1,
        clock=clock,
        anchor=anchor,
        limits=Limits(activity_per_minute=100_000, shared_pool_per_minute=100_000),
    )
    with SandboxServer(okta.app, tls) as a, SandboxServer(o365.app, tls) as b:
        yield Orgs(okta, a.base_url, o365, b.base_url, tls.ca_cert)


def okta_body(orgs: Orgs, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "app": "okta",
        "name": "okta",
        "config": {"domain": orgs.okta_url, "ca_bundle": str(orgs.ca)},
        "secrets": {"token": orgs.okta.credentials.token},
    }
    body.update(over)
    return body


def o365_body(orgs: Orgs, **over: Any) -> dict[str, Any]:
    creds = orgs.o365.credentials
    body: dict[str, Any] = {
        "app": "office365",
        "name": "m365",
        "config": {
            "tenant_id": creds.tenant_id,
            "client_id": creds.client_id,
            "endpoint": orgs.o365_url,
            "ca_bundle": str(orgs.ca),
            "components": "aad_management,activities",
        },
        "secrets": {"client_secret": creds.client_secret},
    }
    body.update(over)
    return body


def test_connect_okta_tests_saves_and_never_returns_the_token(web: Web, orgs: Orgs) -> None:
    admin = web.signed_in("admin")
    r = admin.post("/api/v1/apps", json=okta_body(orgs))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["name"] == "okta" and out["state"] == "connecting" and out["test"]["ok"]
    assert orgs.okta.credentials.token not in r.text
    rec = web.store.get_instance("okta")
    assert web.store.instance_secrets(rec) == {"token": orgs.okta.credentials.token}
    listed = admin.get("/api/v1/apps").json()["items"]
    assert [a["name"] for a in listed] == ["okta"] and "health" in listed[0]
    assert admin.post("/api/v1/apps/okta/test").json()["ok"] is True
    (tested,) = web.store.portal.list_audit(action="app.test")
    assert (tested.actor, tested.target, tested.outcome) == ("admin", "okta", "success")
    assert tested.detail == {"app": "okta", "via": "session"}
    # the app page's "Test connection" button too
    form = {"csrf_token": admin.headers["X-CSRF-Token"]}
    assert admin.post("/apps/okta/test", data=form, headers={"X-CSRF-Token": ""}).status_code == 200
    page_test = web.store.portal.list_audit(action="app.test")[0]  # newest first
    assert (page_test.target, page_test.outcome, page_test.detail["via"]) == (
        "okta",
        "success",
        "page",
    )
    # the name is taken now: refused before any test, with the way to replace it
    again = admin.post("/api/v1/apps", json=okta_body(orgs))
    assert_problem(again, 400, "instance_exists")
    entry = web.store.portal.list_audit(action="app.connect")[0]
    assert (entry.actor, entry.target, entry.outcome) == ("admin", "okta", "success")
    assert orgs.okta.credentials.token not in str(entry.detail)


def test_a_failed_test_saves_nothing_and_explains(web: Web, orgs: Orgs) -> None:
    admin = web.signed_in("admin")
    r = admin.post("/api/v1/apps", json=okta_body(orgs, secrets={"token": "00" + "x" * 40}))
    body = assert_problem(r, 422, None)
    assert body["test"]["ok"] is False and body["fix"]  # type: ignore[index]
    assert web.store.list_instances() == []
    assert web.store.portal.list_audit(action="app.connect")[0].outcome == "failure"
    draft = admin.post(
        "/api/v1/apps/test",
        json={"app": "okta", "config": okta_body(orgs)["config"], "secrets": {"token": "bad"}},
    )
    assert draft.status_code == 200 and draft.json()["ok"] is False
    (tested,) = web.store.portal.list_audit(action="app.test")  # a draft: no target
    assert (tested.actor, tested.target, tested.outcome) == ("admin", None, "failure")
    assert tested.detail["app"] == "okta" and tested.detail["error"]
    assert web.store.list_instances() == []
    bad_field = admin.post("/api/v1/apps", json=okta_body(orgs, config={"domain": "not a domain"}))
    assert_problem(bad_field, 400, None)
    odd = admin.post("/api/v1/apps", json=okta_body(orgs, secrets={"token": "a\u00a0b"}))
    assert_problem(odd, 400, "secret_not_ascii")
    wrong = admin.post("/api/v1/apps", json=okta_body(orgs, secrets={"password": "x"}))
    assert_problem(wrong, 400, "bad_secret_field")


def test_connect_office365_with_components(web: Web, orgs: Orgs) -> None:
    admin = web.signed_in("admin")
    # Files needs file monitoring, which is off in these settings (the seed's rule)
    files = o365_body(orgs)
    files["config"]["components"] = "activities,files"
    problem = assert_problem(admin.post("/api/v1/apps", json=files), 400, None)
    assert "file monitoring" in str(problem["detail"]) and problem["fix"]
    r = admin.post("/api/v1/apps", json=o365_body(orgs))
    assert r.status_code == 201, r.text
    assert r.json()["config"]["components"].split(",") >= ["activities"]
    assert orgs.o365.credentials.client_secret not in r.text
    catalog = admin.get("/api/v1/apps/catalog").json()["items"]
    fields = {f["name"]: f for f in next(a for a in catalog if a["app"] == "office365")["fields"]}
    assert fields["client_secret"]["secret"] and not fields["tenant_id"]["secret"]


def test_edit_disable_enable_remove(web: Web, orgs: Orgs) -> None:
    admin = web.signed_in("admin")
    assert admin.post("/api/v1/apps", json=okta_body(orgs)).status_code == 201
    r = admin.patch("/api/v1/apps/okta", json={"interval_seconds": 300})
    assert r.status_code == 200 and r.json()["interval_seconds"] == 300
    # a new token is tested before it replaces the working one
    bad = admin.patch("/api/v1/apps/okta", json={"secrets": {"token": "00" + "y" * 40}})
    assert_problem(bad, 422, None)
    rec = web.store.get_instance("okta")
    assert web.store.instance_secrets(rec) == {"token": orgs.okta.credentials.token}
    assert_problem(admin.patch("/api/v1/apps/okta", json={}), 400, "nothing_to_change")
    off = admin.post("/api/v1/apps/okta/disable").json()
    assert off["enabled"] is False and off["state"] == "disabled"
    on = admin.post("/api/v1/apps/okta/enable").json()
    assert on["enabled"] is True and on["state"] == "connecting"
    assert admin.delete("/api/v1/apps/okta").status_code == 204
    assert_problem(admin.get("/api/v1/apps/okta"), 404, "instance_not_found")
    actions = [e.action for e in web.store.portal.list_audit(limit=50) if e.target == "okta"]
    assert actions[:4] == ["app.remove", "app.enable", "app.disable", "app.edit"]


def test_an_analyst_cannot_connect(web: Web, orgs: Orgs) -> None:
    analyst = web.signed_in("analyst")
    assert_problem(analyst.post("/api/v1/apps", json=okta_body(orgs)), 403, "forbidden")
    assert web.store.list_instances() == []


def test_the_office365_dialog_connects_then_asks_for_the_components(web: Web, orgs: Orgs) -> None:
    """The pages' two steps: "Connect Office 365" tests and saves the app registration,
    then the components checklist of the saved instance, then "connected" with Close."""
    admin = web.signed_in("admin")
    csrf = admin.headers["X-CSRF-Token"]
    creds = orgs.o365.credentials
    first = admin.get("/apps/connect/office365").text
    assert "Connect Office 365" in first and 'name="components"' not in first
    r = admin.post(
        "/apps/connect/office365",
        data={
            "csrf_token": csrf,
            "name": "m365",
            "tenant_id": creds.tenant_id,
            "client_id": creds.client_id,
            "auth": "secret",
            "client_secret": creds.client_secret,
            "cloud": "commercial",
            "endpoint": orgs.o365_url,
            "ca_bundle": str(orgs.ca),
        },
    )
    assert r.status_code == 200, r.text
    step2 = r.text
    assert "Office 365 components" in step2 and "2. Components" in step2
    assert 'action="/apps/m365/components"' in step2 and 'name="step" value="new"' in step2
    assert creds.client_secret not in step2  # never carried to the next step
    # saved with the default components already (the secret is stored by step one)
    rec = web.store.get_instance("m365")
    assert "activities" in rec.config["components"].split(",")
    # Files without file monitoring: refused and explained, nothing changed
    bad = admin.post(
        "/apps/m365/components",
        data={"csrf_token": csrf, "step": "new", "components": ["activities", "files"]},
    )
    assert bad.status_code == 422 and "file monitoring" in bad.text
    assert web.store.get_instance("m365").config == rec.config
    done = admin.post(
        "/apps/m365/components",
        data={"csrf_token": csrf, "step": "new", "components": ["aad_signins", "activities"]},
    )
    assert done.status_code == 200, done.text
    assert "Office 365 connected" in done.text and ">Close</a>" in done.text
    saved = web.store.get_instance("m365").config["components"]
    assert saved == "users_groups,aad_signins,activities"
    # later, from the instance's page: the same checklist, back to the page when saved
    assert 'href="/apps/m365/components"' in admin.get("/apps/m365").text
    later = admin.post(
        "/apps/m365/components", data={"csrf_token": csrf, "components": "activities"}
    )
    assert later.status_code == 200 and "Components saved and tested" in later.text
    assert web.store.get_instance("m365").config["components"] == "users_groups,activities"
    actions = [e.action for e in web.store.portal.list_audit(limit=10)]
    assert actions.count("app.components") == 2 and "app.connect" in actions
