"""One content type of the Management Activity API as a feed: list blobs, fetch, repeat.

The API lists content blobs by ``contentCreated`` — when a blob became available, not when
its events happened — in windows of at most 24 hours that start at most 7 days back
(api-office365.md §1.2, §2.6). Events arrive 30 minutes to hours late, out of order, and
sometimes twice. So the feed reasons only about blobs:

* Cursor: ``{"start": T, "done": {contentId: contentCreated}}``. Every blob created before
  ``T`` is stored; ``done`` names the blobs created since ``T - OVERLAP`` that are stored too.
* Each poll re-lists from ``T - OVERLAP``, because a listing is not guaranteed complete for
  the last moments before it was taken; blobs in ``done`` are not fetched again, and a record
  seen twice is dropped by the store (unique on the record ``Id``).
* Blobs are fetched concurrently, oldest first, and stored as pages of about
  ``PAGE_RECORDS`` records; the cursor after a page moves ``T`` to the oldest blob not yet
  stored, so a crash re-fetches at most one page.
* Windows are computed on the server's clock (from its ``Date`` header), so a skewed local
  clock neither asks for a window the server refuses nor misses the newest blobs.
* What can no longer be fetched — a blob that expired or vanished, a cursor that fell out of
  the 7-day retention while the instance was stopped — is reported as a :class:`Gap`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from opencasb.apps.base import Cursor, Feed, Gap, Page
from opencasb.apps.office365.activity_api import ActivityApi, ContentBlob, format_time, parse_time
from opencasb.errors import ConnectorError
from opencasb.formats.records import RawRecords
from opencasb.logs import carry_context

__all__ = ["OVERLAP", "PAGE_RECORDS", "RETENTION", "ContentFeed"]

PAGE_RECORDS = 1000  # records per stored page: enough to amortise a commit, as for Okta
OVERLAP = timedelta(minutes=30)
RETENTION = timedelta(days=7)
WINDOW = timedelta(hours=24)
FRESH_EDGE = timedelta(minutes=2)
_LOST = ("AF20050", "AF20051", "AF20052")
_WINDOW_REFUSED = ("AF20030", "AF20055")


def _floor(when: datetime) -> datetime:
    return when.replace(microsecond=0)


class ContentFeed(Feed):
    """Blobs of one content type.

    Args:
        api: the tenant's Management Activity API.
        content_type: e.g. ``Audit.SharePoint``.
        backfill: how far back a new feed starts (clamped to the 7-day retention).
        subscribe: makes sure the content type's subscription is enabled (idempotent).
        keep: drops records of components the user did not choose; None keeps all.
        workers: blobs fetched at once (the request budget still applies to each).
    """

    def __init__(
        self,
        api: ActivityApi,
        content_type: str,
        *,
        backfill: timedelta,
        subscribe: Callable[[str], None],
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
        workers: int = 4,
    ) -> None:
        self.name = f"content:{content_type}"
        self.content_type = content_type
        self._api = api
        self._backfill = backfill
        self._subscribe = subscribe
        self._keep = keep
        self._workers = max(1, workers)

    def initial_cursor(self, now: datetime) -> Cursor:
        # "fresh": the start is our own choice, so clamping it into retention loses nothing,
        # and it is re-based on the server's clock at the first fetch ("backfill" seconds
        # before the server's now): a skewed local clock must not shift the backfill.
        return {
            "start": format_time(now - self._backfill),
            "done": {},
            "fresh": True,
            "backfill": int(self._backfill.total_seconds()),
        }

    def fetch(self, cursor: Cursor) -> Iterator[Page]:
        self._subscribe(self.content_type)
        now = _floor(self._api.server_now())
        # Blobs live exactly 7 days; the server accepts windows starting up to about an hour
        # before that (research §1.7), so starting at the edge loses nothing still listed.
        oldest = now - RETENTION
        start = parse_time(str(cursor.get("start", ""))) or oldest
        if cursor.get("fresh") and isinstance(cursor.get("backfill"), int):
            start = now - timedelta(seconds=cursor["backfill"])
        done: dict[str, str] = dict(cursor.get("done") or {})
        gaps: list[Gap] = []
        if start < oldest:
            if not cursor.get("fresh"):
                gaps.append(self._retention_gap(start, oldest))
            start = oldest
        if cursor.get("fresh"):
            # A new backfill starts a little inside the retention: a blob at its very edge
            # would expire in the seconds between listing and fetching it.
            start = max(start, oldest + FRESH_EDGE)
        state = _Progress(first=start, watermark=start, now=now)
        # A new feed lists from exactly its start; a running one re-lists the overlap.
        list_from = start if cursor.get("fresh") else max(start - OVERLAP, oldest)
        # The listing's end is exclusive; one second past "now" includes a blob that became
        # available in the very second of the poll (the API accepts an end in the future).
        horizon = now + timedelta(seconds=1)
        with ThreadPoolExecutor(self._workers, thread_name_prefix="o365-blob") as pool:
            while True:
                end = max(min(list_from + WINDOW, horizon), list_from)
                listed, moved = self._list(list_from, end, state, gaps)
                if moved != list_from:  # refused as too old: the server's "now" is later
                    list_from = moved
                    horizon = max(horizon, _floor(self._api.server_now()) + timedelta(seconds=1))
                    state.now = horizon
                    continue
                todo = sorted(
                    (b for b in listed if b.content_id not in done),
                    key=lambda b: (b.created, b.content_id),
                )
                # Gaps found while listing leave with the next page (``_pages`` empties the
                # list as it yields), at the latest with the caught-up page below.
                yield from self._pages(pool, todo, end, done, state, gaps)
                state.advance(end)
                if end >= horizon:
                    yield Page(
                        [],
                        self._cursor(state.watermark, done),
                        progress=1.0,
                        caught_up=True,
                        gaps=tuple(gaps),
                    )
                    return
                list_from = end

    def _list(
        self,
        list_from: datetime,
        end: datetime,
        state: _Progress,
        gaps: list[Gap],
    ) -> tuple[list[ContentBlob], datetime]:
        """Every blob listed in ``[list_from, end)`` and that start; or, when the server
        refuses the window as too old (its clock is ahead of our estimate, or we stalled),
        nothing and the new start to list from."""
        for _attempt in range(3):
            try:
                listed: list[ContentBlob] = []
                for api_page in self._api.list_content(self.content_type, list_from, end):
                    for item in api_page:
                        if isinstance(item, Gap):
                            gaps.append(item)
                        else:
                            listed.append(item)
                return listed, list_from
            except ConnectorError as exc:
                if exc.code == "AF20022":  # the subscription vanished (stopped elsewhere)
                    self._subscribe(self.content_type)
                    continue
                if exc.code in _WINDOW_REFUSED:
                    # The server's clock is later than we thought (or we stalled): restart
                    # the window inside the retention it measures, and show what fell out.
                    floor = _floor(self._api.server_now()) - RETENTION + timedelta(hours=1)
                    if list_from >= floor:
                        raise
                    if state.watermark < floor:
                        gaps.append(self._retention_gap(state.watermark, floor))
                        state.watermark = floor
                    return [], floor
                raise
        raise ConnectorError(
            f"listing {self.content_type} content kept failing",
            fix="check the subscription in `opencasb test NAME`; the listing is retried",
            app="office365",
        )

    def _pages(
        self,
        pool: ThreadPoolExecutor,
        todo: list[ContentBlob],
        end: datetime,
        done: dict[str, str],
        state: _Progress,
        gaps: list[Gap],
    ) -> Iterator[Page]:
        i = 0
        group_size = self._workers * 2
        while i < len(todo):
            parts: list[RawRecords] = []
            count = 0
            while i < len(todo) and count < PAGE_RECORDS:
                group = todo[i : i + group_size]
                for blob, result in zip(
                    group, pool.map(carry_context(self._fetch_blob), group), strict=True
                ):
                    if isinstance(result, Gap):
                        gaps.append(result)
                    else:
                        parts.append(result)
                        count += len(result)
                    done[blob.content_id] = format_time(blob.created)
                i += len(group)
            state.advance(todo[i].created if i < len(todo) else end)
            records = RawRecords.concat(parts)
            kept = records
            if self._keep is not None:
                kept = records.select([self._kept(records.head(j)) for j in range(len(records))])
            yield Page(
                kept,
                self._cursor(state.watermark, done),
                progress=state.progress(),
                newest_time=_newest(kept),
                gaps=tuple(gaps),
            )
            gaps.clear()

    def _kept(self, head: dict[str, Any] | None) -> bool:
        # Not a JSON object: keep it, so the runner quarantines it instead of losing it.
        return head is None or self._keep is None or self._keep(head)

    def _fetch_blob(self, blob: ContentBlob) -> RawRecords | Gap:
        try:
            return self._api.get_blob(blob)
        except ConnectorError as exc:
            if exc.code in _LOST:
                return Gap(
                    exc.code,
                    f"{self.content_type} content blob {blob.content_id} (available since "
                    f"{format_time(blob.created)}Z)",
                    exc.meaning,
                    exc.fix,
                )
            raise

    def _cursor(self, watermark: datetime, done: dict[str, str]) -> Cursor:
        keep_from = format_time(watermark - OVERLAP)
        # ISO times of one format compare correctly as text.
        pruned = {cid: created for cid, created in done.items() if created >= keep_from}
        done.clear()
        done.update(pruned)
        return {"start": format_time(watermark), "done": dict(pruned)}

    def _retention_gap(self, start: datetime, until: datetime) -> Gap:
        return Gap(
            "AF20051",
            f"{self.content_type} content available from {format_time(start)}Z to "
            f"{format_time(until)}Z",
            "the instance was not collecting for longer than the API keeps content (7 days); "
            "records published in this period can no longer be fetched",
            "import the period from a Purview audit export with `opencasb import office365 "
            "FILE`; keep the sync running to avoid this",
        )


class _Progress:
    """The watermark and how far it is between the feed's start and the server's now."""

    def __init__(self, *, first: datetime, watermark: datetime, now: datetime) -> None:
        self.first = first
        self.watermark = watermark
        self.now = now

    def advance(self, to: datetime) -> None:
        self.watermark = max(self.watermark, to)

    def progress(self) -> float:
        span = (self.now - self.first).total_seconds()
        if span <= 0:
            return 1.0
        return max(0.0, min(1.0, (self.watermark - self.first).total_seconds() / span))


def _newest(records: RawRecords) -> datetime | None:
    # CreationTime is zone-less ISO of one width, so the text maximum is the time maximum.
    times = [t for t in records.column("CreationTime") if isinstance(t, str)]
    return parse_time(max(times)) if times else None
