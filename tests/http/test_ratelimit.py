from email.utils import format_datetime

from opencasb.clock import FakeClock
from opencasb.http import RateLimitPacer


def _headers(clock: FakeClock, limit: int, remaining: int, reset_in: int) -> dict[str, str]:
    now = clock.now()
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(now.timestamp()) + reset_in),
        "date": format_datetime(now, usegmt=True),
    }


def test_spends_the_budget_then_waits_for_the_reset() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock, headroom=0.0)
    pacer.before_request("logs")
    pacer.observe("logs", _headers(clock, 3, 2, 60))
    pacer.before_request("logs")
    pacer.before_request("logs")
    assert clock.sleeps == []
    pacer.before_request("logs")  # budget spent: waits for the reset (+1 s margin)
    assert clock.sleeps == [61.0]


def test_uses_the_server_date_not_our_clock() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock)
    server = FakeClock(clock.now())
    server.advance(3600)  # the server's clock is an hour ahead of ours
    pacer.observe("logs", _headers(server, 10, 0, 30))
    pacer.before_request("logs")
    assert clock.sleeps == [31.0]


def test_buckets_are_independent_and_concurrency_answers_mean_wait() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock)
    pacer.observe("users", _headers(clock, 0, 0, 5))
    pacer.before_request("logs")
    assert clock.sleeps == []
    pacer.before_request("users")
    assert clock.sleeps == [6.0]


def test_missing_or_garbled_headers_are_ignored() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock)
    pacer.observe("logs", {"x-rate-limit-limit": "abc", "x-rate-limit-remaining": "0"})
    pacer.before_request("logs")
    assert clock.sleeps == []


def test_leaves_a_tenth_of_a_shared_bucket_to_the_org() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock)
    sent = 0
    remaining = 120
    while not clock.sleeps:
        pacer.before_request("logs")
        if clock.sleeps:
            break
        sent += 1
        remaining -= 1
        pacer.observe("logs", _headers(clock, 120, remaining, 60))
    assert sent == 108 and remaining == 12  # 12 of the 120 were never ours
    assert clock.sleeps == [61.0]


def test_after_a_reset_the_whole_window_is_usable_again() -> None:
    clock = FakeClock()
    pacer = RateLimitPacer(clock)
    pacer.observe("logs", _headers(clock, 20, 2, 10))
    pacer.before_request("logs")  # 2 left = the 10% kept (rounded up): waits
    assert clock.sleeps == [11.0]
    for _ in range(17):  # no answer seen yet: the fresh window counts down from 20
        pacer.before_request("logs")
    assert clock.sleeps == [11.0]
