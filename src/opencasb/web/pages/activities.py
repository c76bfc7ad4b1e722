"""The activity log: basic filters, the advanced filter editor, newest first with keyset
paging, a drawer with one record (normalized fields, enrichment, raw record), shortcuts
from its values, and export.

URL: ``/activities`` with the search in the query (see
:mod:`opencasb.web.pages.search_form`), ``after`` for the next page, and ``open`` +
``open_instance`` for the record in the drawer; ``/activities/export?format=csv|jsonl``
with the same search streams every match.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from opencasb.enrich import Enricher
from opencasb.errors import ConfigError, OpenCASBError
from opencasb.filters import AllOf, Condition, Op, iter_matching, search
from opencasb.model.activity import Activity, Outcome
from opencasb.store import ActivityQuery, Store
from opencasb.store.export import CSV_COLUMNS, activity_to_dict, csv_row
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import store_of, viewer_of
from opencasb.web.pages.render import render
from opencasb.web.pages.search_form import Search, parse_search

__all__ = ["find_activity", "router"]

router = APIRouter()


def enricher_of(request: Request) -> Enricher:
    """The portal's enricher (built from the settings' MaxMind files and IP lists)."""
    return get_ctx(request).get_enricher()


def find_activity(store: Store, instance: str, event_id: str) -> Activity | None:
    """The stored activity of ``instance`` with ``source_event_id`` ``event_id``, or None."""
    flt = AllOf(
        (
            Condition("instance", Op.EQUALS, instance),
            Condition("source_event_id", Op.EQUALS, event_id),
        )
    )
    try:
        page = search(store, flt, ActivityQuery(limit=1))
    except OpenCASBError:
        return None
    return page.items[0] if page.items else None


def _shortcuts(a: Activity, s: Search) -> list[tuple[str, str]]:
    """Links from the drawer's values: same user, same IP, the 48 hours around it."""
    out = []
    who = a.actor.email or a.actor.id
    if who:
        out.append(("Same user", "/activities?" + urlencode({"user": who})))
    if a.src_ip:
        out.append(("Same IP", "/activities?" + urlencode({"ip": a.src_ip})))
    since = (a.time - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")
    until = (a.time + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")
    base = {k: v for k, v in s.params.items() if k not in ("since", "until", "after")}
    out.append(
        ("±24 h around", "/activities?" + urlencode({**base, "since": since, "until": until}))
    )
    return out


def _drawer(request: Request, s: Search) -> dict[str, Any] | None:
    event_id = request.query_params.get("open", "")
    instance = request.query_params.get("open_instance", "")
    if not event_id or not instance:
        return None
    a = find_activity(store_of(request), instance, event_id)
    if a is None:
        return {"missing": True}
    # as stored at ingest (computed now for a row stored before enrichment was kept)
    stored = (
        store_of(request).enrichments_of_events([(instance, event_id)]).get((instance, event_id))
    )
    enriched = stored if stored is not None else enricher_of(request).enrich(a)
    # the tags of the ranges stored now, as the search matched them (not the last enrichment's)
    enriched = replace(enriched, ip_tags=store_of(request).ip_tags.tags_of(a.src_ip))
    enrichment = {k: v for k, v in asdict(enriched).items() if v not in (None, (), False)}
    close = {k: v for k, v in request.query_params.items() if k not in ("open", "open_instance")}
    return {
        "missing": False,
        "a": a,
        "enrichment": enrichment,
        "raw": json.dumps(a.raw, indent=2, ensure_ascii=False, sort_keys=True, default=str),
        "details": json.dumps(dict(a.details), indent=2, ensure_ascii=False, default=str)
        if a.details
        else "",
        "shortcuts": _shortcuts(a, s),
        "close": "/activities?" + urlencode(close),
    }


@router.get("/activities", response_class=HTMLResponse)
def activities_page(request: Request) -> Response:
    viewer_of(request)
    store = store_of(request)
    params = dict(request.query_params)
    error = None
    items: list[Activity] = []
    next_after = None
    s = None
    try:
        s = parse_search(params)
        if s.advanced is None:
            page = store.query_activities(s.query)
        else:
            page = search(store, s.advanced, s.query, enricher=enricher_of(request))
        items, next_after = page.items, page.next_after
    except OpenCASBError as exc:
        error = problem_of(exc)
    keep = {k: v for k, v in params.items() if k not in ("after", "open", "open_instance") and v}
    return render(
        request,
        "activities.html",
        title="Activity log",
        items=items,
        params=params,
        keep=keep,
        next_link=("/activities?" + urlencode({**keep, "after": next_after})) if next_after else "",
        first_link=("/activities?" + urlencode(keep)) if params.get("after") else "",
        error=error,
        drawer=_drawer(request, s) if s is not None else None,
        policy_filter=s.as_yaml() if s is not None else "",
        instances=[r.name for r in store.list_instances()],
        outcomes=[o.value for o in Outcome],
        open_id=params.get("open", ""),
    )


def _rows(store: Store, s: Search, enricher: Enricher) -> Iterator[Activity]:
    if s.advanced is None:
        return store.iter_activities(s.query)
    return iter_matching(store, s.advanced, s.query, enricher=enricher)


@router.get("/activities/export")
def export(request: Request, format: str = "csv") -> Response:
    """Every match of the search, streamed as CSV or JSON lines."""
    viewer_of(request)
    store = store_of(request)
    try:
        s = parse_search(dict(request.query_params))
        if format not in ("csv", "jsonl"):
            raise ConfigError(f"unknown export format {format!r}", fix="use csv or jsonl")
        rows = _rows(store, s, enricher_of(request))
        first = next(rows, None)
    except OpenCASBError as exc:
        return render(
            request,
            "error.html",
            400,
            title="Cannot export",
            error=problem_of(exc),
            back="/activities",
        )

    def body() -> Iterator[bytes]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        if format == "csv":
            writer.writerow(CSV_COLUMNS)
        for a in _chain(first, rows):
            if format == "csv":
                writer.writerow(csv_row(a))
                chunk = buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
            else:
                chunk = orjson.dumps(activity_to_dict(a)) + b"\n"
            yield chunk
        if format == "csv" and buf.getvalue():
            yield buf.getvalue().encode()

    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    name = f"activities.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body(), media_type=media, headers=headers)


def _chain(first: Activity | None, rest: Iterator[Activity]) -> Iterator[Activity]:
    if first is None:
        return
    yield first
    yield from rest
