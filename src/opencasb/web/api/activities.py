"""``/api/v1/activities``: the activity log, newest first, with keyset paging and exports.

Filters: the basic ones as query parameters (``app``, ``instance``, ``user``,
``activity_type``, ``action``, ``outcome``, ``ip`` (an address or CIDR), ``country``,
``since``, ``until``, ``text``), and any filter of the filter language
(:mod:`opencasb.filters`) as the ``filter`` parameter (JSON or YAML text) or the body of
``POST /api/v1/activities/search``. All given filters must match.

Each item is the normalized activity with its ``raw`` record and its ``enrichment`` (place,
network, user agent, IP tags). Exports (``/export?format=csv|jsonl``) stream every match,
whatever their number; CSV cells that a spreadsheet would run as a formula are neutralised
(:mod:`opencasb.store.export`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from opencasb.enrich.enricher import Enrichment
from opencasb.filters import (
    AllOf,
    Condition,
    Filter,
    Op,
    iter_matching,
    parse_filter,
    parse_filter_text,
    search,
)
from opencasb.model.activity import Activity
from opencasb.store.export import CSV_COLUMNS, csv_row
from opencasb.store.query import ActivityPage, ActivityQuery
from opencasb.web.api.common import Ctx, json_bytes, ok, parse_time
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Reader
from opencasb.web.context import WebContext
from opencasb.web.paging import next_link
from opencasb.web.problems import ApiProblem

__all__ = ["BasicFilters", "activity_json", "router", "run_search"]

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])

EXPORT_MAX_ROWS = 1_000_000


@dataclasses.dataclass
class BasicFilters:
    """The basic filters, as query parameters."""

    app: str | None = None
    instance: str | None = None
    user: Annotated[str | None, Query(description="E-mail, id or name (any case).")] = None
    activity_type: str | None = None
    action: str | None = None
    outcome: Annotated[str | None, Query(description="success, failure or unknown.")] = None
    ip: Annotated[str | None, Query(description="An address or a CIDR network.")] = None
    country: Annotated[str | None, Query(description="ISO code or country name.")] = None
    since: Annotated[str | None, Query(description="ISO 8601, inclusive.")] = None
    until: Annotated[str | None, Query(description="ISO 8601, exclusive.")] = None
    text: Annotated[str | None, Query(description="Substring of the record (any case).")] = None

    def query(self, limit: int = 100, after: str | None = None) -> ActivityQuery:
        return ActivityQuery(
            app=self.app or None,
            instance=self.instance or None,
            user=self.user or None,
            activity_type=self.activity_type or None,
            action=self.action or None,
            outcome=self.outcome or None,
            ip=self.ip or None,
            country=self.country or None,
            since=parse_time(self.since, "since"),
            until=parse_time(self.until, "until"),
            text=self.text or None,
            limit=limit,
            after=after,
        )


class SearchIn(BaseModel):
    filter: Any = Field(default=None, description="A filter document (see the filter language).")
    app: str | None = None
    instance: str | None = None
    user: str | None = None
    activity_type: str | None = None
    action: str | None = None
    outcome: str | None = None
    ip: str | None = None
    country: str | None = None
    since: str | None = None
    until: str | None = None
    text: str | None = None
    limit: int = Field(default=50, ge=1, le=1000)
    after: str | None = None


def activity_json(
    ctx: WebContext, a: Activity, stored: Mapping[tuple[str, str], Enrichment | None]
) -> dict[str, Any]:
    """An activity as the API shows it: every field, the raw record and the enrichment
    stored with it at ingest (computed now for a row stored before enrichment was kept),
    with ``ip_tags`` those of the ranges stored NOW (as searches match them), not those of
    the last enrichment. ``stored``: :func:`stored_of` of the activities shown."""
    out = {f.name: getattr(a, f.name) for f in dataclasses.fields(a)}
    e = stored.get((a.instance, a.source_event_id))
    e = e if e is not None else ctx.get_enricher().enrich(a)
    e = dataclasses.replace(e, ip_tags=ctx.store.ip_tags.tags_of(a.src_ip))
    out["enrichment"] = e.to_dict()
    return out


def stored_of(
    ctx: WebContext, items: Sequence[Activity]
) -> Mapping[tuple[str, str], Enrichment | None]:
    """The stored enrichment of ``items`` (one read for a page of them)."""
    return ctx.store.enrichments_of_events([(a.instance, a.source_event_id) for a in items])


def _filter_text(text: str | None) -> Filter | None:
    if text is None or not text.strip():
        return None
    return parse_filter_text(text, source="filter")


def run_search(ctx: WebContext, q: ActivityQuery, flt: Filter | None) -> ActivityPage:
    """One page of ``q`` (and ``flt`` when given)."""
    known = ctx.known_types
    if q.activity_type and not known.may_exist(ctx.store, q.activity_type, ctx.clock.monotonic()):
        return ActivityPage([], None)
    if flt is None:
        return ctx.store.query_activities(q)
    return search(ctx.store, flt, q, enricher=ctx.get_enricher())


def _page(ctx: WebContext, request: Request, page: ActivityPage) -> Response:
    stored = stored_of(ctx, page.items)
    items = [activity_json(ctx, a, stored) for a in page.items]
    return ok({"items": items, "next": next_link(request, page.next_after)})


@router.get("")
def list_activities(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    f: Annotated[BasicFilters, Depends()],
    filter: Annotated[
        str | None, Query(description="A filter document as JSON or YAML text.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Query(description="From the previous page's next.")] = None,
) -> Response:
    """Activities matching every given filter, newest first; follow ``next`` for more."""
    return _page(ctx, request, run_search(ctx, f.query(limit, after), _filter_text(filter)))


@router.post("/search")
def search_activities(body: SearchIn, request: Request, principal: Reader, ctx: Ctx) -> Response:
    """The same as GET with a filter document in the body (a read: any role may).

    Paging, either way: ``next`` is the GET URL of the next page, with this body's filters
    as its query (the filter document as JSON in ``filter``), to follow like any list's
    ``next``; or post the same body again with ``after`` set to this answer's ``after``.
    Both are null on the last page."""
    flt = parse_filter(body.filter, source="filter") if body.filter is not None else None
    basic = BasicFilters(**body.model_dump(exclude={"filter", "limit", "after"}))
    page = run_search(ctx, basic.query(body.limit, body.after), flt)
    stored = stored_of(ctx, page.items)
    items = [activity_json(ctx, a, stored) for a in page.items]
    nxt = None
    if page.next_after is not None:
        params = {k: v for k, v in body.model_dump(exclude={"filter", "after"}).items()
                  if v is not None}  # fmt: skip
        if body.filter is not None:
            params["filter"] = orjson.dumps(body.filter).decode()
        params["after"] = page.next_after
        nxt = str(request.url_for("list_activities").include_query_params(**params))
    return ok({"items": items, "next": nxt, "after": page.next_after})


@router.get("/export")
def export(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    f: Annotated[BasicFilters, Depends()],
    format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",
    filter: Annotated[str | None, Query(description="A filter document (JSON/YAML).")] = None,
    max_rows: Annotated[int, Query(ge=1, le=EXPORT_MAX_ROWS)] = EXPORT_MAX_ROWS,
) -> StreamingResponse:
    """Every match as CSV (flat columns) or JSON Lines (full records), streamed."""
    q = f.query(1000)
    flt = _filter_text(filter)
    # Fail on a bad filter or query now, as a problem, not halfway through a stream.
    run_search(ctx, dataclasses.replace(q, limit=1), flt)
    rows = _iter(ctx, q, flt, max_rows)
    record(ctx, request, principal, "activities.export", detail={"format": format})
    if format == "csv":
        return StreamingResponse(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="activities.csv"'},
        )
    return StreamingResponse(
        (json_bytes(a) + b"\n" for a in rows),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="activities.jsonl"'},
    )


def _iter(ctx: WebContext, q: ActivityQuery, flt: Filter | None, cap: int) -> Iterator[Activity]:
    source = (
        ctx.store.iter_activities(q)
        if flt is None
        else iter_matching(ctx.store, flt, q, enricher=ctx.get_enricher())
    )
    for n, a in enumerate(source):
        if n >= cap:
            return
        yield a


def _csv(rows: Iterator[Activity]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for n, a in enumerate(rows, 1):
        writer.writerow(csv_row(a))
        if n % 500 == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


@router.get("/{instance}/{source_event_id}")
def get_activity(instance: str, source_event_id: str, principal: Reader, ctx: Ctx) -> Response:
    """One activity by its instance and the app's event id (the drawer's record)."""
    flt = AllOf(
        (
            Condition("instance", Op.EQUALS, instance),
            Condition("source_event_id", Op.EQUALS, source_event_id),
        )
    )
    page = run_search(ctx, ActivityQuery(instance=instance, limit=1), flt)
    if not page.items:
        raise ApiProblem(404, f"no activity {source_event_id!r} in {instance!r}",
                         code="activity_not_found")  # fmt: skip
    return ok(activity_json(ctx, page.items[0], stored_of(ctx, page.items)))
