"""The Okta System Log as a feed: one polling stream that backfills, then follows.

A *polling* request (``sortOrder=ASCENDING`` and no ``until``) returns events in the order
Okta persisted them, and always carries a ``next`` link, even when empty. So one stream does
both the backfill and the live follow: we start at ``since`` = now − backfill days, follow
``next`` links, and stop a cycle on a short page. The cursor is the ``next`` URL itself — never
the last ``published`` time — because events can be persisted after later-published ones, and
re-querying by ``published`` would miss them (NangoHQ's lesson). Re-delivery after a crash is
harmless: the store deduplicates on ``uuid``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from opencasb.apps.base import Cursor, Feed, Page
from opencasb.clock import Clock, utc
from opencasb.errors import UpstreamError
from opencasb.formats.records import NotAnArray
from opencasb.http import ApiClient, require_same_origin

__all__ = ["PAGE_LIMIT", "SystemLogFeed"]

PAGE_LIMIT = 1000  # Okta's maximum; fewer pages means less of the 120/min logs budget


def _published(value: Any) -> datetime | None:
    """An event's ``published`` value as a time, or None if it is not one."""
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


class SystemLogFeed(Feed):
    """``GET /api/v1/logs`` in polling mode.

    Cursor: ``{"start": ISO time the backfill began at, "next": absolute next URL or None}``.
    """

    name = "system_log"

    def __init__(self, client: ApiClient, *, backfill_days: int, clock: Clock) -> None:
        self._client = client
        self._backfill = timedelta(days=backfill_days)
        self._clock = clock

    def initial_cursor(self, now: datetime) -> Cursor:
        start = (now - self._backfill).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"start": start, "next": None}

    def _progress(self, start: datetime, newest: datetime | None) -> float | None:
        if newest is None:
            return None
        span = (self._clock.now() - start).total_seconds()
        if span <= 0:
            return 1.0
        return max(0.0, min(1.0, (newest - start).total_seconds() / span))

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        start_text = str(cursor["start"])
        start = utc(datetime.fromisoformat(start_text.replace("Z", "+00:00")))
        url: str | None = cursor.get("next")
        params: dict[str, str | int] | None = None
        if not url:
            url = "/api/v1/logs"
            params = {"since": start_text, "sortOrder": "ASCENDING", "limit": PAGE_LIMIT}
        while True:
            resp = self._client.get(url, params)
            try:
                # Kept as each event's text: the sync process only needs `published`.
                events = resp.records(head=("published",))
            except NotAnArray:
                raise UpstreamError(
                    "the System Log answered with something other than a list of events",
                    fix="check that the domain points at the Okta org itself",
                    app="okta",
                ) from None
            nxt = resp.links.get("next")
            if nxt:
                require_same_origin(nxt, self._client.base_url, app="okta")
            else:
                # Polling answers always carry `next`; if one does not, re-reading this same
                # request next time may duplicate (deduplicated) but can never skip.
                nxt = resp.url
            published = map(_published, events.column("published"))
            newest = max((p for p in published if p), default=None)
            caught_up = len(events) < PAGE_LIMIT
            yield Page(
                raw_events=events,
                next_cursor={"start": start_text, "next": nxt},
                progress=1.0 if caught_up else self._progress(start, newest),
                newest_time=newest,
                caught_up=caught_up,
            )
            if caught_up:
                return
            url, params = nxt, None
