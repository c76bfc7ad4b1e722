"""The Management Activity API calls the feed needs (api-office365.md §1.2), nothing more.

Every request carries ``PublisherIdentifier`` = the tenant id, which puts it in the tenant's
own throttling pool instead of the pool shared by every client that omits it (§1.2). The
server's ``Date`` header is remembered, so the feed can reason in the server's time: content
windows are judged by the server against its own clock (7 days back, 24 hours long).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from opencasb.apps.base import Gap
from opencasb.clock import Clock, utc
from opencasb.errors import ConnectorError, UpstreamError
from opencasb.formats.records import NotAnArray, RawRecords
from opencasb.http import ApiClient, Response, require_same_origin

__all__ = ["HEAD", "ActivityApi", "ContentBlob", "format_time", "parse_time"]

APP = "office365"

HEAD = ("CreationTime", "Operation", "RecordType", "Workload")
"""The fields of each audit record the sync process reads (newest time, the components'
filter, the apps seen); the rest of a record is parsed only by whoever normalizes it."""


def format_time(when: datetime) -> str:
    """The documented ``YYYY-MM-DDTHH:MM:SS`` (UTC, no zone)."""
    return utc(when).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(text: str) -> datetime | None:
    """A time the API wrote (``2015-05-23T17:35:00.000Z`` and zone-less forms), in UTC."""
    try:
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class ContentBlob:
    """One listed content blob. ``uri`` is used verbatim: its id holds ``$`` signs."""

    content_type: str
    content_id: str
    uri: str
    created: datetime
    expires: datetime | None


class ActivityApi:
    """The feed endpoints of one tenant, over ``client`` (whose base URL is the API host)."""

    def __init__(self, client: ApiClient, tenant_id: str, *, clock: Clock) -> None:
        self._client = client
        self.tenant_id = tenant_id
        self.root = f"/api/v1.0/{tenant_id}/activity/feed"
        self._clock = clock
        self.skew = timedelta(0)  # server clock minus ours, from the last Date header

    def server_now(self) -> datetime:
        """Our best estimate of the server's clock."""
        return self._clock.now() + self.skew

    def _get(self, path: str, params: dict[str, str | int] | None = None) -> Response:
        resp = self._client.get(path, params)
        self._observe_date(resp)
        return resp

    def _observe_date(self, resp: Response) -> None:
        date = resp.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.skew = utc(parsedate_to_datetime(date)) - self._clock.now()

    def _params(self, **extra: str) -> dict[str, str | int]:
        return {**extra, "PublisherIdentifier": self.tenant_id}

    def list_subscriptions(self) -> dict[str, str]:
        """content type → status (``enabled`` / ``disabled``)."""
        data = self._get(f"{self.root}/subscriptions/list", self._params()).json()
        if not isinstance(data, list):
            raise _unexpected("the subscription list")
        return {
            str(item.get("contentType")): str(item.get("status") or "enabled")
            for item in data
            if isinstance(item, dict)
        }

    def start_subscription(self, content_type: str) -> None:
        """Start (or re-enable) a subscription; "already enabled" (AF20024) is success."""
        params = self._params(contentType=content_type)
        try:
            resp = self._client.request("POST", f"{self.root}/subscriptions/start", params=params)
        except ConnectorError as exc:
            if exc.code == "AF20024":
                return
            raise
        self._observe_date(resp)

    def list_content(
        self, content_type: str, start: datetime, end: datetime
    ) -> Generator[list[ContentBlob | Gap], None, None]:
        """The blobs with ``start <= contentCreated < end``, one API page at a time; a listed
        item that cannot be read comes back as a :class:`Gap`, so it is shown, not skipped.

        ``NextPageUri`` is followed verbatim but only on the API's own origin: a hostile or
        broken header must not send the bearer token elsewhere.
        """
        url: str = f"{self.root}/subscriptions/content"
        params: dict[str, str | int] | None = self._params(
            contentType=content_type, startTime=format_time(start), endTime=format_time(end)
        )
        while True:
            resp = self._get(url, params)
            data = resp.json()
            if not isinstance(data, list):
                raise _unexpected("a content listing")
            yield [_blob(item, content_type) for item in data]
            nxt = resp.headers.get("nextpageuri")
            if not nxt:
                return
            require_same_origin(nxt, self._client.base_url, app=APP)
            url, params = nxt, None
            if "publisheridentifier=" not in nxt.lower():
                params = self._params()

    def get_blob(self, blob: ContentBlob) -> RawRecords:
        """The audit records of one blob (a JSON array), each kept as its JSON text with
        the fields of :data:`HEAD` decoded."""
        require_same_origin(blob.uri, self._client.base_url, app=APP)
        params = None if "publisheridentifier=" in blob.uri.lower() else self._params()
        try:
            return self._get(blob.uri, params).records(head=HEAD)
        except NotAnArray:
            raise _unexpected("a content blob") from None


def _blob(item: Any, content_type: str) -> ContentBlob | Gap:
    uri = item.get("contentUri") if isinstance(item, dict) else None
    cid = item.get("contentId") if isinstance(item, dict) else None
    created = parse_time(str(item.get("contentCreated") or "")) if isinstance(item, dict) else None
    if not isinstance(uri, str) or not isinstance(cid, str) or created is None:
        return Gap(
            "BadListing",
            f"{content_type} listing entry {str(item)[:200]}",
            "the API listed a content blob without a usable contentUri, contentId or "
            "contentCreated, so its records cannot be fetched",
            "report this with the entry shown; nothing else is affected",
        )
    expires = parse_time(str(item.get("contentExpiration") or ""))
    return ContentBlob(str(item.get("contentType") or content_type), cid, uri, created, expires)


def _unexpected(what: str) -> UpstreamError:
    return UpstreamError(
        f"the Management Activity API answered {what} with something other than a JSON array",
        fix="check the cloud and endpoint settings; if they are right, this is retried",
        app=APP,
    )
