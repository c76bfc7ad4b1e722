"""`opencasb policies` and `opencasb alerts` against a synced store: import a policy file,
`sync --once` runs the detection stage after the ingest pass, the alerts are listed, shown
with their evidence, commented on and closed; hostile audit data stays inert on screen."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from tests.cli.conftest import Cli, flat

POLICY = """\
policies:
  - id: failed-okta-sign-in
    name: Failed Okta sign-in
    severity: low
    category: threat_detection
    tactic: credential_access
    filter:
      all:
        - {field: activity_type, equals: user.session.start}
        - {field: outcome, equals: failure}
"""


def test_sync_runs_detection_and_alerts_have_a_lifecycle(synced: Cli, tmp_path: Path) -> None:
    synced.ok("alerts")  # no policy yet: nothing
    file = tmp_path / "policies.yaml"
    file.write_text(POLICY, encoding="utf-8")
    assert "imported 1 policies (1 enabled)" in flat(
        synced.ok("policies", "import", str(file)).stdout
    )
    out = flat(synced.ok("sync", "--once").stdout)
    assert "detection:" in out and "alerts raised" in out
    rows = [json.loads(x) for x in synced.ok("alerts", "--format", "json").stdout.splitlines()]
    assert rows and {r["policy_id"] for r in rows} == {"failed-okta-sign-in"}
    assert all(r["status"] == "open" and r["evidence_count"] == 1 for r in rows)
    first = rows[0]
    shown = flat(synced.ok("alerts", "show", first["id"][:12]).stdout)
    assert first["id"] in shown and "user.session.start" in shown and "evidence: 1" in shown
    synced.ok("alerts", "comment", first["id"], "looking at it")
    synced.ok("alerts", "close", first["id"], "--resolution", "benign", "--comment", "typo")
    closed = json.loads(synced.ok("alerts", "show", first["id"], "--format", "json").stdout)
    assert closed["status"] == "closed" and closed["resolution"] == "benign"
    assert closed["evidence_ids"] and closed["evidence_count"] == 1
    assert [c["text"] for c in closed["comments"]] == ["looking at it", "typo"]
    # the operating-system user wrote them (the one running these tests)
    assert [c["author"] for c in closed["comments"]] == [getpass.getuser()] * 2
    assert f"comment by {getpass.getuser()}" in flat(
        synced.ok("alerts", "show", first["id"]).stdout
    )
    still_open = synced.ok("alerts", "--status", "open", "--format", "json").stdout.splitlines()
    assert len(still_open) == len(rows) - 1
    # `alerts list` is the same listing, like `policies list` and `iptags list`
    listed = synced.ok("alerts", "list", "--status", "open", "--format", "json").stdout
    assert listed.splitlines() == still_open
    assert first["id"][:12] in synced.ok("alerts", "list", "--status", "closed").stdout
    assert synced("alerts", "list", "--severity", "urgent").exit_code == 1
    assert synced.ok("alerts", "--severity", "high", "--format", "json").stdout == ""
    assert synced("alerts", "--severity", "urgent").exit_code == 1
    bad = synced("alerts", "close", first["id"], "--resolution", "maybe")
    assert bad.exit_code == 1 and "true_positive" in flat(bad.output)
    # a second sync with nothing new raises nothing new
    synced.ok("sync", "--once")
    again = synced.ok("alerts", "--format", "json").stdout.splitlines()
    assert len(again) == len(rows)


def test_policies_templates_enable_disable_export(synced: Cli, tmp_path: Path) -> None:
    assert "failed-sign-ins" in synced.ok("policies", "templates").stdout
    synced.ok("policies", "enable", "failed-sign-ins")
    listed = json.loads(synced.ok("policies", "list", "--format", "json").stdout)
    assert listed["id"] == "failed-sign-ins" and listed["enabled"] is True
    synced.ok("policies", "disable", "failed-sign-ins")
    listed = json.loads(synced.ok("policies", "list", "--format", "json").stdout)
    assert listed["enabled"] is False and listed["disabled_reason"] == "disabled by a user"
    synced.ok("policies", "enable", "failed-sign-ins")  # the stored one, again
    exported = synced.ok("policies", "export").stdout
    assert "id: failed-sign-ins" in exported and "threshold: 10" in exported
    # a template with a placeholder to fill in cannot be enabled as shipped
    # as shipped: the error names the field to fill in and the commands, not a place in the
    # stored copy (a "file" the user does not have)
    glass = synced("policies", "enable", "break-glass-account-used")
    said = flat(glass.output)
    assert glass.exit_code == 1 and " scope.include_users[0] " in said, said
    assert "<break-glass account e-mail>" in said and "policy break-glass" not in said
    assert "opencasb policies templates --yaml break-glass-account-used" in said
    assert "opencasb policies import break-glass-account-used.yaml" in said
    # doing what it says enables it
    shipped = synced.ok("policies", "templates", "--yaml", "break-glass-account-used").stdout
    assert "id: break-glass-account-used" in shipped and "enabled: true" in shipped
    file = tmp_path / "break-glass-account-used.yaml"
    file.write_text(shipped, encoding="utf-8")
    # not filled in: the place in its own file
    left_in = synced("policies", "import", str(file), env={"COLUMNS": "400"})
    assert left_in.exit_code == 1 and f"{file.name}:15:19: scope.include_users[0]" in flat(
        left_in.output
    )
    file.write_text(shipped.replace("<break-glass account e-mail>", "bg@example.com"), "utf-8")
    assert "(1 enabled)" in flat(synced.ok("policies", "import", str(file)).stdout)
    rows = [
        json.loads(x) for x in synced.ok("policies", "list", "--format", "json").stdout.splitlines()
    ]
    assert {r["id"]: r["enabled"] for r in rows}["break-glass-account-used"] is True
    assert synced("policies", "templates", "--yaml", "nope").exit_code == 1
    missing = synced("policies", "enable", "no-such-thing")
    assert missing.exit_code == 1 and "failed-sign-ins" in flat(missing.output)
    # a broken file: every problem with its line and column, nothing stored
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("severity: low", "severity: loud").replace(
        "tactic: credential_access", "tactic: nope"), encoding="utf-8")  # fmt: skip
    result = synced("policies", "import", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml:4:15: policies[0].severity" in flat(result.output)
    assert "bad.yaml:6:13: policies[0].tactic" in flat(result.output)
    assert "failed-okta-sign-in" not in synced.ok("policies", "list").stdout


def test_hostile_alert_text_is_inert(synced: Cli) -> None:
    from opencasb.store.detection import AlertWrite

    store = synced.open_store()
    try:
        hostile = "\x1b]52;c;ZXZpbA==\x07[bold]x[/]\u202eexe.txt"
        from datetime import UTC, datetime

        now = datetime(2026, 1, 1, tzinfo=UTC)
        store.detection.commit_stage(
            "test", expected=None, cursor=0, state="{}", disabled={},
            new_alerts=[AlertWrite(
                "h1", "p", hostile, "high", "threat_detection", None, hostile, hostile, (),
                now, now, False,
            )],
        )  # fmt: skip
    finally:
        store.close()
    for args in (("alerts",), ("alerts", "show", "h1")):
        out = synced.ok(*args).stdout
        assert "\x1b]52" not in out and "\u202e" not in out and "\\x1b" in out


def test_alerts_fit_80_columns_and_ids_stay_whole(synced: Cli, tmp_path: Path) -> None:
    file = tmp_path / "policies.yaml"
    file.write_text(POLICY, encoding="utf-8")
    synced.ok("policies", "import", str(file))
    synced.ok("sync", "--once")
    ids = [json.loads(x)["id"] for x in synced.ok("alerts", "--format", "json").stdout.splitlines()]
    assert ids
    narrow = synced.ok("alerts", env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in narrow.splitlines())
    # a folded id cannot be copied into `alerts show`: each one is on a line of its own
    assert all(any(line.startswith(i[:12] + " ") for line in narrow.splitlines()) for i in ids)
    wide = synced.ok("alerts").stdout
    assert all(i[:12] in wide for i in ids)


def test_policies_list_shows_the_findings_suppressed_today(cli: Cli) -> None:
    from datetime import UTC, datetime

    from tests.store.conftest import make_activity, save_page

    from opencasb.clock import SystemClock
    from opencasb.detect import read_policies
    from opencasb.detect.stage import DetectionStage, store_policy
    from opencasb.model.activity import Outcome

    cli.ok("policies", "list")  # creates the store
    store = cli.open_store()
    try:
        iid = store.add_instance("okta", "acme", {}, {}).id
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        at = midnight + (now - midnight) / 2  # today, whatever the time of day
        acts = [make_activity(i, time=at, outcome=Outcome.FAILURE) for i in range(4)]
        save_page(store, iid, "logs", acts, {"n": 1})
        (policy,) = read_policies(
            "id: capped\nname: Capped\nseverity: low\ncategory: threat_detection\n"
            "daily_alert_limit: 1\nfilter: {field: outcome, equals: failure}\n"
        )
        store_policy(store, policy)
        assert DetectionStage(store, SystemClock()).run_until_caught_up().committed
    finally:
        store.close()
    (row,) = [
        json.loads(x) for x in cli.ok("policies", "list", "--format", "json").stdout.splitlines()
    ]
    assert row["id"] == "capped" and row["suppressed_today"] == 3
    assert "3 suppressed today (daily alert limit)" in flat(cli.ok("policies", "list").stdout)


def test_policies_list_shows_the_anomaly_detections_suppressed_today(cli: Cli) -> None:
    """A built-in detector over its daily alert limit today gets a row of its own."""
    from datetime import UTC, datetime

    from tests.store.conftest import make_activity, save_page

    from opencasb.clock import SystemClock
    from opencasb.detect.anomaly import AnomalySettings
    from opencasb.detect.stage import DetectionStage
    from opencasb.model.activity import Actor
    from opencasb.model.inventory import Account

    cli.ok("policies", "list")  # creates the store
    store = cli.open_store()
    try:
        iid = store.add_instance("okta", "acme", {}, {}).id
        users = ["zed0", "zed1", "zed2"]
        store.replace_inventory(
            iid,
            [Account(id=u, email=f"{u}@example.com", name=None, status="SUSPENDED") for u in users],
            [],
        )
        now = datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        at = midnight + (now - midnight) / 2  # today, whatever the time of day
        acts = [
            make_activity(
                n,
                time=at,
                source_event_id=f"{u}-{n}",
                actor=Actor(id=u, email=f"{u}@example.com", type="User"),
            )
            for n, u in enumerate(users)
        ]
        save_page(store, iid, "logs", acts, {"n": 1})
        capped = AnomalySettings(daily_alert_limit=1)
        stage = DetectionStage(store, SystemClock(), anomaly=capped)
        assert stage.run_until_caught_up().committed
    finally:
        store.close()
    (row,) = [
        json.loads(x) for x in cli.ok("policies", "list", "--format", "json").stdout.splitlines()
    ]
    assert row["id"] == "anomaly.disabled_user_activity" and row["suppressed_today"] == 2
    table = flat(cli.ok("policies", "list").stdout)
    assert "2 suppressed today (daily alert limit)" in table
    assert "no policies" not in table


def test_a_stored_policy_with_a_placeholder_is_not_enabled(cli: Cli, tmp_path: Path) -> None:
    """The break-glass template stored disabled, its placeholder left in: ``enable`` refuses,
    naming the field and the commands that fill it in; doing what it says enables it."""
    shipped = cli.ok("policies", "templates", "--yaml", "break-glass-account-used").stdout
    file = tmp_path / "glass.yaml"
    file.write_text(shipped.replace("enabled: true", "enabled: false"), encoding="utf-8")
    assert "(0 enabled)" in flat(cli.ok("policies", "import", str(file)).stdout)
    refused = cli("policies", "enable", "break-glass-account-used")
    said = flat(refused.output)
    assert refused.exit_code == 1, said
    assert "scope.include_users[0] (<break-glass account e-mail>)" in said
    assert "opencasb policies export > policies.yaml" in said
    assert "opencasb policies enable break-glass-account-used" in said

    def enabled() -> bool:
        rows = cli.ok("policies", "list", "--format", "json").stdout.splitlines()
        return bool(json.loads(rows[0])["enabled"])

    assert not enabled()
    exported = tmp_path / "policies.yaml"
    exported.write_text(
        cli.ok("policies", "export").stdout.replace("<break-glass account e-mail>", "bg@x.org"),
        encoding="utf-8",
    )
    cli.ok("policies", "import", str(exported))
    cli.ok("policies", "enable", "break-glass-account-used")
    assert enabled()
