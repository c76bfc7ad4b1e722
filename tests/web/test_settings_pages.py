"""Settings: notifiers (add webhook, syslog and e-mail, send a test to a real receiver,
disable, enable, retry, remove; admins only; secrets never shown), the Sigma rule folder
(every rule loaded or not evaluated with its reason), file monitoring (its state and how to
change it); Sigma rules in the policies list of the API and the page, read-only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.notify.receivers import WebhookReceiver
from tests.web.conftest import Web
from tests.web.seed import WEBHOOK_KEY, seed

import opencasb.sandbox

SIGMA = Path(opencasb.sandbox.__file__).parent / "data" / "sigma" / "okta"
KEYWORDS_RULE = """title: A keyword search <b>bold</b>
id: 11111111-2222-3333-4444-555555555555
logsource:
    product: okta
    service: okta
detection:
    keywords:
        - evil
    condition: keywords
level: high
"""


@pytest.fixture
def sigma_dir(web: Web, tmp_path: Path) -> Path:
    folder = tmp_path / "sigma"
    folder.mkdir()
    shutil.copy(SIGMA / "okta_api_token_created.yml", folder / "token.yml")
    (folder / "keywords.yml").write_text(KEYWORDS_RULE)
    web.ctx.settings = web.ctx.settings.model_copy(update={"sigma_rules_dir": folder})
    return folder


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(key="a-signing-key-for-the-test-0001").start()
    try:
        yield r
    finally:
        r.stop()


def _post(c: TestClient, path: str, **data: str) -> str:
    r = c.post(path, data={"csrf_token": c.headers["X-CSRF-Token"], **data},
               headers={"X-CSRF-Token": ""})  # fmt: skip
    assert r.status_code == 200, (r.status_code, r.text[-2000:])
    return r.text


def test_notifiers_are_managed_by_admins_and_secrets_never_shown(
    web: Web, receiver: WebhookReceiver
) -> None:
    seed(web)  # a webhook notifier "soar" with a signing key
    admin = web.signed_in("admin")
    page = _post(admin, "/settings/notifiers", kind="webhook", name="hook", url=receiver.url,
                 signing_key=receiver.key, min_severity="high")  # fmt: skip
    assert "Added the webhook notifier hook" in page and receiver.key not in page
    tested = _post(admin, "/settings/notifiers/hook/test")
    assert "Test sent to hook" in tested
    assert len(receiver.received) == 1 and receiver.received[0].body["test"] is True
    # a generated key is shown once, then never again
    made = _post(admin, "/settings/notifiers", kind="webhook", name="gen",
                 url="https://example.com/hook")  # fmt: skip
    shown = made.split('<pre id="new-signing-key">')[1].split("</pre>")[0]
    assert len(shown) >= 32
    rec = web.store.notifications.get("gen")
    assert web.store.notifications.secrets(rec) == {"signing_key": shown}
    later = admin.get("/settings").text
    assert shown not in later and WEBHOOK_KEY not in later and receiver.key not in later
    _post(admin, "/settings/notifiers", kind="syslog", name="siem", host="127.0.0.1",
          port="6514", protocol="tls", framing="newline")  # fmt: skip
    _post(admin, "/settings/notifiers", kind="email", name="mail", host="smtp.example.com",
          sender="casb@example.com", recipients="a@example.com, b@example.com",
          username="casb", password="smtp-password-never-shown")  # fmt: skip
    mail = web.store.notifications.get("mail")
    assert mail.config["recipients"] == ["a@example.com", "b@example.com"]
    assert web.store.notifications.secrets(mail) == {"password": "smtp-password-never-shown"}
    listing = admin.get("/settings").text
    assert "tls://127.0.0.1:6514" in listing and "a@example.com, b@example.com via" in listing
    assert "smtp-password-never-shown" not in listing
    # bad settings are explained and nothing is stored
    bad = admin.post("/settings/notifiers", data={"csrf_token": admin.headers["X-CSRF-Token"],
                     "kind": "syslog", "name": "x", "host": "h", "port": "70000"})  # fmt: skip
    assert bad.status_code == 422 and "port" in bad.text
    short = admin.post("/settings/notifiers", data={"csrf_token": admin.headers["X-CSRF-Token"],
                       "kind": "webhook", "name": "y", "url": "https://e.example/h",
                       "signing_key": "short"})  # fmt: skip
    assert short.status_code == 422 and "shorter than 16" in short.text
    assert {n.name for n in web.store.notifications.all()} == {"soar", "hook", "gen", "siem",
                                                               "mail"}  # fmt: skip
    # a receiver that is down: the test's failure is explained
    receiver.stop()
    down = admin.post("/settings/notifiers/hook/test",
                      data={"csrf_token": admin.headers["X-CSRF-Token"]})  # fmt: skip
    assert down.status_code == 422 and 'class="problem' in down.text
    assert "Disabled hook" in _post(admin, "/settings/notifiers/hook/disable")
    assert web.store.notifications.get("hook").enabled is False
    assert "Enabled hook" in _post(admin, "/settings/notifiers/hook/enable")
    assert "Queued 0 dead letter" in _post(admin, "/settings/notifiers/hook/retry")
    assert "Removed gen" in _post(admin, "/settings/notifiers/gen/remove")
    csrf = {"csrf_token": admin.headers["X-CSRF-Token"]}
    assert admin.post("/settings/notifiers/nope/test", data=csrf).status_code == 404
    actions = {e.action for e in web.store.portal.list_audit(limit=50)}
    assert {"notifier.add", "notifier.test", "notifier.disable", "notifier.remove"} <= actions
    # read-only and analysts see the list but no control; their posts are refused
    for role in ("read_only", "analyst"):
        c = web.signed_in(role)
        text = c.get("/settings").text
        assert "hook" in text and "Send a test" not in text and "Add webhook" not in text
        r = c.post("/settings/notifiers/hook/remove",
                   data={"csrf_token": c.headers["X-CSRF-Token"]})  # fmt: skip
        assert r.status_code == 403
    assert web.store.notifications.get("hook")


def test_the_sigma_folder_and_file_monitoring_on_settings(web: Web, sigma_dir: Path) -> None:
    c = web.signed_in("read_only")
    text = c.get("/settings").text
    assert str(sigma_dir) in text and "2 file(s), 1 rule(s) evaluated, 1 not" in text
    assert "Okta API Token Created" in text and "token.yml" in text
    assert "keywords.yml" in text and "not evaluated" in text and "keyword" in text.lower()
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "<b>bold</b>" not in text
    assert "File monitoring is <strong>off</strong>" in text
    assert "OPENCASB_FILE_MONITORING=true" in text
    web.ctx.settings = web.ctx.settings.model_copy(update={"file_monitoring": True})
    assert "OPENCASB_FILE_MONITORING=false" in c.get("/settings").text
    web.ctx.settings = web.ctx.settings.model_copy(update={"sigma_rules_dir": None})
    assert "No folder is set" in c.get("/settings").text


def test_sigma_rules_are_read_only_policies_in_the_api_and_the_page(
    web: Web, sigma_dir: Path
) -> None:
    seed(web)
    c = web.signed_in("analyst")
    items = c.get("/api/v1/policies").json()["items"]
    stored = [p for p in items if p["source"] == "stored"]
    sigma = [p for p in items if p["source"] == "sigma"]
    assert [p["id"] for p in stored] == ["failed-sign-ins"] and not stored[0]["read_only"]
    assert len(sigma) == 1
    rule = sigma[0]
    assert rule["id"] == "sigma.c8e78b07-a3cb-4252-8349-9aeea11d150b"
    assert (rule["file"], rule["read_only"], rule["name"]) == (
        "token.yml",
        True,
        "Okta API Token Created",
    )
    one = c.get(f"/api/v1/policies/{rule['id']}").json()
    assert one["source"] == "sigma" and one["file"] == "token.yml"
    assert c.put(f"/api/v1/policies/{rule['id']}", json={"definition": "x"}).status_code in (
        400,
        404,
        422,
    )
    page = c.get("/policies").text
    assert "Sigma rules" in page and "token.yml" in page and "Okta API Token Created" in page
    assert "1 rule(s) or file(s) are not evaluated" in page


def test_the_api_lists_notifiers_without_secrets_and_the_sigma_folder(
    web: Web, sigma_dir: Path
) -> None:
    seed(web)
    c = web.signed_in("read_only")
    r = c.get("/api/v1/notifiers")
    assert r.status_code == 200 and WEBHOOK_KEY not in r.text
    (soar,) = r.json()["items"]
    assert (soar["name"], soar["kind"], soar["sends_to"]) == (
        "soar",
        "webhook",
        "https://soar.example.com/hook",
    )
    assert soar["enabled"] is True and soar["queued"] == 0 and soar["dead_letters"] == 0
    sigma = c.get("/api/v1/sigma").json()
    assert sigma["folder"] == str(sigma_dir) and sigma["files"] == 2
    assert [r["file"] for r in sigma["rules"]] == ["token.yml"]
    (problem,) = sigma["problems"]
    assert problem["file"] == "keywords.yml" and "keyword" in problem["reason"].lower()
    web.ctx.settings = web.ctx.settings.model_copy(update={"sigma_rules_dir": None})
    assert c.get("/api/v1/sigma").json() == {"folder": None, "files": 0, "rules": [],
                                             "problems": []}  # fmt: skip
