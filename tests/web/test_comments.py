"""Alert comments record their author: the signed-in user, an API token's creator (with the
token's name), the CLI's operating-system user; the alert page shows who wrote what, as text;
comments stored before authors were kept show as by an unknown author."""

from __future__ import annotations

import getpass

import pytest
import sqlalchemy as sa
from tests.web.conftest import Web
from tests.web.seed import seed

from opencasb.cli.alerts_cmd import cli_author


def test_the_api_and_the_pages_record_and_show_the_author(web: Web) -> None:
    seeded = seed(web)
    analyst = web.signed_in("analyst")
    r = analyst.post(f"/api/v1/alerts/{seeded.alert_id}/comments", json={"text": "mine"})
    assert r.status_code == 201
    admin = web.signed_in("admin")
    made = admin.post("/api/v1/tokens", json={"name": "soar", "role": "analyst"}).json()
    bot = web.client()
    bot.headers["Authorization"] = f"Bearer {made['token']}"
    r = bot.post(
        f"/api/v1/alerts/{seeded.alert_id}/comments", json={"text": "<b>from a script</b>"}
    )
    assert r.status_code == 201, r.text
    page = admin.get(f"/alerts/{seeded.alert_id}")
    csrf = admin.headers["X-CSRF-Token"]
    r = admin.post(
        f"/alerts/{seeded.alert_id}/close",
        data={"csrf_token": csrf, "resolution": "benign", "comment": "line one\nline two"},
        headers={"X-CSRF-Token": ""},
    )
    assert r.status_code == 200, r.text  # redirected to the alert's page
    one = analyst.get(f"/api/v1/alerts/{seeded.alert_id}").json()
    assert [(c["author"], c["text"]) for c in one["comments"]] == [
        ("analyst", "mine"),
        ("admin (token soar)", "<b>from a script</b>"),
        ("admin", "line one\nline two"),
    ]
    page = analyst.get(f"/alerts/{seeded.alert_id}").text
    assert "<strong>analyst</strong>" in page and "<strong>admin (token soar)</strong>" in page
    assert "&lt;b&gt;from a script&lt;/b&gt;" in page and "<b>from a script" not in page
    assert "comment by admin: line one" in page  # the timeline too
    event = web.store.notifications.events_after(0, 100)[-1]
    assert event.kind == "closed" and event.alert["comment_author"] == "admin"


def test_the_cli_author_is_the_os_user_or_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli_author() == getpass.getuser()

    def nobody() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", nobody)
    assert cli_author() == "cli"


def test_comments_from_before_the_migration_have_no_author(web: Web, store_url: str) -> None:
    seeded = seed(web)
    web.store.detection.comment_alert(seeded.alert_id, "new", author="analyst")
    # an old comment: as a store before migration 0010 would have written it
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO alert_comments (alert_id, text, created_at) VALUES (:a, 'old', 0)"
            ),
            {"a": seeded.alert_id},
        )
    engine.dispose()
    c = web.signed_in("read_only")
    comments = c.get(f"/api/v1/alerts/{seeded.alert_id}").json()["comments"]
    assert [(x["author"], x["text"]) for x in comments] == [("analyst", "new"), (None, "old")]
    assert "<strong>unknown author</strong>" in c.get(f"/alerts/{seeded.alert_id}").text
