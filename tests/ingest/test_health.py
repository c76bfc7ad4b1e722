"""The health state machine's transitions (pure: no store, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opencasb.apps.base import Gap
from opencasb.errors import ErrorInfo
from opencasb.ingest import health as h
from opencasb.model import Health, HealthState

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
AUTH = ErrorInfo("E0000011", "The token is invalid.", "connect again", transient=False)
SLOW = ErrorInfo("upstream", "The API answered 503.", "", transient=True)


def _page(health: Health, **over: object) -> Health:
    args: dict[str, object] = {
        "progress": 0.5,
        "caught_up": False,
        "newest_time": NOW - timedelta(hours=1),
        "inserted": 10,
        "duplicates": 2,
        "quarantined": 1,
        "now": NOW,
    }
    args.update(over)
    return h.page_stored(health, **args)  # type: ignore[arg-type]


def test_a_new_instance_backfills_then_connects() -> None:
    start = Health()
    assert start.state is HealthState.CONNECTING
    filling = _page(start)
    assert (filling.state, filling.progress) == (HealthState.BACKFILLING, 0.5)
    assert (filling.events_stored, filling.duplicates_dropped, filling.rejected) == (10, 2, 1)
    done = _page(filling, progress=1.0, caught_up=True, newest_time=NOW - timedelta(minutes=1))
    assert (done.state, done.progress) == (HealthState.CONNECTED, None)
    assert done.events_stored == 20
    ok = h.succeeded(done, now=NOW)
    assert ok.state is HealthState.CONNECTED and ok.last_success == NOW
    assert ok.lag_seconds == 60.0


@pytest.mark.parametrize(
    ("progress", "caught_up", "behind"),
    [(None, False, True), (0.998, False, True), (0.999, False, False), (0.1, True, False)],
)
def test_behind(progress: float | None, caught_up: bool, behind: bool) -> None:
    assert h.behind(progress, caught_up) is behind


def test_the_newest_event_never_moves_back() -> None:
    later = _page(Health(), newest_time=NOW)
    assert _page(later, newest_time=NOW - timedelta(days=1)).newest_event == NOW
    assert _page(later, newest_time=None).newest_event == NOW


def test_a_gap_is_the_last_error_without_changing_the_state() -> None:
    gap = Gap("AF20051", "Audit.SharePoint blob", "The content expired.", "nothing to do")
    after = _page(Health(state=HealthState.CONNECTED), caught_up=True, gaps=(gap,))
    assert after.state is HealthState.CONNECTED
    assert after.last_error == ErrorInfo(
        "AF20051", "The content expired. (Audit.SharePoint blob)", "nothing to do"
    )
    assert after.last_error_at == NOW


def test_failures_degrade_when_transient_and_need_the_user_otherwise() -> None:
    connected = h.succeeded(Health(), now=NOW)
    degraded = h.failed(connected, SLOW, transient=True, now=NOW)
    assert (degraded.state, degraded.consecutive_failures) == (HealthState.DEGRADED, 1)
    again = h.failed(degraded, SLOW, transient=True, now=NOW)
    assert again.consecutive_failures == 2
    recovered = h.succeeded(again, now=NOW)
    assert (recovered.state, recovered.consecutive_failures) == (HealthState.CONNECTED, 0)
    broken = h.failed(recovered, AUTH, transient=False, now=NOW)
    assert (broken.state, broken.last_error, broken.last_error_at) == (
        HealthState.ERROR,
        AUTH,
        NOW,
    )


def test_a_run_start_notes_the_attempt_and_recounts_from_the_rows() -> None:
    before = Health(state=HealthState.DEGRADED, events_stored=999, rejected=9)
    started = h.run_started(before, now=NOW, events_stored=40, rejected=2)
    assert (started.state, started.last_attempt) == (HealthState.DEGRADED, NOW)
    assert (started.events_stored, started.rejected) == (40, 2)


@pytest.mark.parametrize("state", [HealthState.ERROR, HealthState.DEGRADED, HealthState.DISABLED])
def test_the_user_changing_a_failed_or_disabled_instance_reconnects_it(
    state: HealthState,
) -> None:
    failed = Health(state=state, last_error=AUTH, consecutive_failures=3, events_stored=5)
    fresh = h.changed_by_user(failed, enabled=True)
    assert (fresh.state, fresh.last_error, fresh.consecutive_failures) == (
        HealthState.CONNECTING,
        None,
        0,
    )
    assert fresh.events_stored == 5
    assert h.changed_by_user(failed, enabled=False).state is HealthState.DISABLED


def test_the_user_changing_a_working_instance_leaves_its_state() -> None:
    filling = Health(state=HealthState.BACKFILLING, progress=0.3)
    assert h.changed_by_user(filling, enabled=True) == filling
    assert h.disabled(filling).state is HealthState.DISABLED
