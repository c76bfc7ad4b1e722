"""`opencasb sync --once` delivers the alerts its detection pass raised to a real webhook."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, flat
from tests.cli.test_policies_alerts import POLICY
from tests.notify.receivers import WebhookReceiver

KEY = "sync-webhook-key-0123456789"


def test_sync_delivers_new_alerts(synced: Cli, tmp_path: Path) -> None:
    hook = WebhookReceiver(KEY).start()
    try:
        synced.ok(
            "notifiers", "add", "webhook", "siem", "--url", hook.url,
            env={"OPENCASB_WEBHOOK_KEY": KEY},
        )  # fmt: skip
        file = tmp_path / "policies.yaml"
        file.write_text(POLICY, encoding="utf-8")
        synced.ok("policies", "import", str(file))
        out = flat(synced.ok("sync", "--once").stdout)
        alerts = [
            json.loads(x) for x in synced.ok("alerts", "--format", "json").stdout.splitlines()
        ]
        assert alerts and f"notifications: {len(alerts)} delivered" in out
        assert sorted(r.body["alert"]["id"] for r in hook.received) == sorted(
            a["id"] for a in alerts
        )
        assert {r.body["event"] for r in hook.received} == {"opened"}
        assert hook.bad_signatures == 0
        synced.ok("alerts", "close", alerts[0]["id"], "--resolution", "benign")
        synced.ok("sync", "--once")
        assert (hook.received[-1].body["event"], hook.received[-1].body["alert"]["id"]) == (
            "closed",
            alerts[0]["id"],
        )
    finally:
        hook.stop()
