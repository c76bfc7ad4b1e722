"""Background requests give way to the feeds until released."""

from __future__ import annotations

import random
import threading

import httpx

from opencasb.apps.okta.errors import OKTA_POLICY
from opencasb.clock import FakeClock
from opencasb.http import ApiClient
from opencasb.http.background import BackgroundPace, current_pace
from opencasb.http.options import HttpOptions


class _Auth:
    def headers(self) -> dict[str, str]:
        return {"Authorization": "SSWS t0ken-value"}

    def invalidate(self) -> bool:
        return False


class CountingPace(BackgroundPace):
    def __init__(self) -> None:
        super().__init__(interval=3600.0)
        self.turns = 0

    def wait_turn(self) -> None:
        self.turns += 1
        super().wait_turn()


def _client() -> ApiClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[]))
    return ApiClient(
        "https://acme.okta.com",
        app="okta",
        auth=_Auth(),
        policy=OKTA_POLICY,
        http=HttpOptions(transport=transport, clock=FakeClock(), max_retries=0),
        rng=random.Random(1),
    )


def test_requests_of_a_background_thread_take_turns_and_others_do_not() -> None:
    client = _client()
    pace = CountingPace()
    pace.release()  # released: turns are taken but never waited for
    pace.run(lambda: [client.get("/api/v1/users") for _ in range(3)])
    assert pace.turns == 3 and pace.waited == 0.0
    client.get("/api/v1/logs")  # this thread is no longer in the background
    assert pace.turns == 3 and current_pace() is None


def test_a_waiting_request_goes_as_soon_as_the_feeds_are_done() -> None:
    client = _client()
    pace = CountingPace()  # an hour between requests until released
    done = threading.Event()

    def inventory() -> None:
        pace.run(lambda: client.get("/api/v1/users"))
        done.set()

    thread = threading.Thread(target=inventory, daemon=True)
    thread.start()
    assert not done.wait(0.05), "the first background request waits for its turn"
    pace.release()
    assert done.wait(10), "release lets it go"
    thread.join()
    assert pace.turns == 1
