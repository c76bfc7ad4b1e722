"""`opencasb prune`: deletes activities past the retention period (setting or --days)."""

from __future__ import annotations

from datetime import datetime

from opencasb.clock import SystemClock

from .conftest import Cli


def _ages_days(cli: Cli) -> list[float]:
    now = SystemClock().now()
    return [(now - datetime.fromisoformat(r["time"])).total_seconds() / 86400 for r in cli.jsonl()]


def test_prune_uses_the_setting_then_the_option(synced: Cli) -> None:
    ages = _ages_days(synced)
    assert ages and max(ages) > 2  # the demo org's backfill spans days
    keep = int(max(ages)) - 1  # at least the oldest day goes
    expected = sum(1 for a in ages if a > keep + 0.01)  # (the minutes the run takes aside)
    out = synced.ok("prune", env={"OPENCASB_RETENTION_DAYS": str(keep)}).stdout
    deleted = int(out.split()[1].replace(",", ""))
    assert deleted >= expected > 0
    assert f"older than {keep} days" in out
    assert all(a <= keep + 0.01 for a in _ages_days(synced))
    assert "deleted 0 activities" in synced.ok("prune", "--days", str(keep)).stdout
    assert "nothing to prune" in synced.ok("prune", "--days", "0").stdout
    assert synced("prune", "--days", "-1").exit_code != 0
    bad = synced("prune", env={"OPENCASB_RETENTION_DAYS": "-3"})
    assert bad.exit_code != 0 and "retention_days" in bad.output
