"""Changes made with the command line go into the portal's audit trail: actor
``cli:<operating-system user>``, ``via: cli``, no address, no secret."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.cli.conftest import WRONG_TOKEN, Cli

from opencasb.store.detection import AlertWrite

ACTOR = f"cli:{getpass.getuser()}"
POLICY = """\
policies:
  - id: failed-okta-sign-in
    name: Failed Okta sign-in
    severity: low
    category: threat_detection
    filter: {field: outcome, equals: failure}
"""


def _trail(cli: Cli) -> list[tuple[str, str | None, str, dict[str, Any]]]:
    """(action, target, outcome, detail) of every entry, oldest first; every one by the CLI."""
    store = cli.open_store()
    try:
        entries = list(reversed(store.portal.list_audit(limit=1000)))
    finally:
        store.close()
    assert all(e.actor == ACTOR and e.source_ip is None for e in entries), entries
    assert all(e.detail["via"] == "cli" for e in entries), entries
    return [(e.action, e.target, e.outcome, e.detail) for e in entries]


def test_apps_policies_and_alerts_changes_are_audited(synced: Cli, tmp_path: Path) -> None:
    store = synced.open_store()
    try:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        store.detection.commit_stage(
            "test", expected=None, cursor=0, state="{}", disabled={},
            new_alerts=[AlertWrite(
                "a1", "p", "t", "high", "threat_detection", None, "ann", "x", (), now, now, False,
            )],
        )  # fmt: skip
    finally:
        store.close()
    synced.ok("test", "okta")
    synced.ok("apps", "edit", "okta", "--interval", "120")
    synced.ok("apps", "disable", "okta")
    synced.ok("apps", "enable", "okta")
    file = tmp_path / "p.yaml"
    file.write_text(POLICY, encoding="utf-8")
    synced.ok("policies", "import", str(file))
    synced.ok("policies", "disable", "failed-okta-sign-in")
    synced.ok("policies", "enable", "failed-okta-sign-in")
    synced.ok("policies", "enable", "failed-sign-ins")  # from the template
    synced.ok("alerts", "comment", "a1", "looking")
    synced.ok("alerts", "close", "a1", "--resolution", "benign")
    synced.ok("apps", "remove", "okta", "--yes")
    trail = _trail(synced)
    assert [(a, t, o) for a, t, o, _ in trail] == [
        ("app.connect", "okta", "success"),  # when the synced store was made
        ("app.test", "okta", "success"),
        ("app.edit", "okta", "success"),
        ("app.disable", "okta", "success"),
        ("app.enable", "okta", "success"),
        ("policy.import", "failed-okta-sign-in", "success"),
        ("policy.disable", "failed-okta-sign-in", "success"),
        ("policy.enable", "failed-okta-sign-in", "success"),
        ("policy.enable", "failed-sign-ins", "success"),
        ("alert.comment", "a1", "success"),
        ("alert.close", "a1", "success"),
        ("app.remove", "okta", "success"),
    ]
    assert trail[2][3]["interval"] == 120 and trail[5][3]["file"] == str(file)
    assert trail[10][3]["resolution"] == "benign" and trail[11][3]["activities"] > 0
    assert synced.served.token not in str(trail)


def test_connect_and_a_refused_connect_are_audited(cli: Cli) -> None:
    bad = cli.connect(token=WRONG_TOKEN)
    assert bad.exit_code == 1
    cli.ok("users")  # nothing else written by a read
    good = cli.connect()
    assert good.exit_code == 0, good.output
    trail = _trail(cli)
    assert [(a, t, o) for a, t, o, _ in trail] == [
        ("app.connect", "okta", "failure"),
        ("app.connect", "okta", "success"),
    ]
    assert trail[0][3]["app"] == "okta" and trail[0][3]["error"]
    assert WRONG_TOKEN not in str(trail) and cli.served.token not in str(trail)
