"""``/api/v1/iptags``: the tagged IP ranges (list with keyset paging, read one, look up an
address, export as CSV; create, delete, import a file).

Tags are detection tuning, like policies: the analyst role changes them, read-only reads
them. Every change is audited (``iptag.add``, ``iptag.remove``, ``iptag.import``) and raises
the tag-set version, which the answers carry: a running sync picks the change up at its
next detection pass.

An import sends the file itself as the request body (``text/plain`` or ``text/csv``), named
by ``name``; the file's ranges replace those the same name brought last time. A file with
bad lines is refused whole with a 422 problem that lists every one (``problems``: line and
message).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from opencasb.enrich.iptags import KNOWN_TAGS, IpTagFileError, normalize_tag, parse_ip_ranges
from opencasb.errors import ConfigError
from opencasb.store.iptags import file_source, iptag_json
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Analyst, Reader
from opencasb.web.paging import next_link
from opencasb.web.problems import ApiProblem

__all__ = ["MAX_IMPORT_BYTES", "router"]

router = APIRouter(prefix="/api/v1/iptags", tags=["ip tags"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""The largest file an import takes (a large threat-intelligence list is a few MB)."""

_TAG_DOC = f"{', '.join(KNOWN_TAGS)}, or a label of your own"


class IpTagIn(BaseModel):
    network: str = Field(
        max_length=100, description="A CIDR (203.0.113.0/24), an address, or a span (a-b)."
    )
    tag: str = Field(max_length=64, description=_TAG_DOC)
    name: str = Field(default="", max_length=200, description="What the range is.")


def _encode(row_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([row_id])).decode().rstrip("=")


def _decode(token: str) -> int:
    try:
        (row_id,) = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError("not a position")
        return row_id
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise ConfigError(
            "invalid page token in 'after'",
            fix="start again from the first page and follow each page's next link",
            code="bad_page_token",
        ) from None


@router.get("")
def list_iptags(
    request: Request,
    principal: Reader,
    ctx: Ctx,
    tag: Annotated[str | None, Query(description="Only this tag.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> Response:
    """The stored ranges in the order they were added; ``version`` is the tag-set version."""
    tags = ctx.store.ip_tags
    version = tags.version()
    start = _decode(after) if after else None
    rows = tags.records(tag=tag, after=start, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    token = _encode(rows[-1].id) if more and rows else None
    return ok(
        {
            "items": [iptag_json(r) for r in rows],
            "next": next_link(request, token),
            "version": version,
        }
    )


@router.get("/lookup/{ip}")
def lookup(ip: str, principal: Reader, ctx: Ctx) -> Response:
    """The tags an address carries and the stored ranges that give them."""
    records = ctx.store.ip_tags.lookup(ip)
    return ok(
        {
            "ip": ip.strip(),
            "tags": sorted({r.tag for r in records}),
            "ranges": [iptag_json(r) for r in records],
        }
    )


@router.get("/export")
def export(
    principal: Reader,
    ctx: Ctx,
    tag: Annotated[str | None, Query(description="Only this tag.")] = None,
) -> Response:
    """The stored ranges as CSV (``network,tag,name``), as an import reads them back."""
    text = ctx.store.ip_tags.export_csv(tag=tag)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ip-tags.csv"'},
    )


@router.get("/{range_id}")
def get_iptag(range_id: int, principal: Reader, ctx: Ctx) -> Response:
    return ok(iptag_json(ctx.store.ip_tags.get(range_id)))


@router.post("", status_code=201)
def create(body: IpTagIn, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Tag one range (409 when the network already carries the tag)."""
    try:
        r = ctx.store.ip_tags.add(
            body.network,
            body.tag,
            name=body.name,
            source=f"api:{principal.name}",
            created_by=principal.name,
        )
    except ConfigError as exc:
        if exc.code != "ip_range_exists":
            raise
        raise ApiProblem(409, exc.message, code=exc.code, fix=exc.fix) from None
    record(ctx, request, principal, "iptag.add", target=f"{r.network} {r.tag}",
           detail={"id": r.id, "name": r.name})  # fmt: skip
    return ok({**iptag_json(r), "version": ctx.store.ip_tags.version()}, 201)


@router.delete("/{range_id}", status_code=204)
def remove(range_id: int, request: Request, principal: Analyst, ctx: Ctx) -> Response:
    """Remove one stored range."""
    (r,) = ctx.store.ip_tags.remove(range_id)
    record(ctx, request, principal, "iptag.remove", target=f"{r.network} {r.tag}",
           detail={"id": r.id, "source": r.source})  # fmt: skip
    return Response(status_code=204)


_FILE_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file itself: one network a line, or CSV network,tag[,name].",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/import", openapi_extra=_FILE_BODY)
async def import_file(
    request: Request,
    principal: Analyst,
    ctx: Ctx,
    name: Annotated[str, Query(max_length=200, description="The file's name (its source).")],
    tag: Annotated[str | None, Query(description="The tag of lines that name none.")] = None,
    replace: Annotated[
        bool,
        Query(description="Also remove the ranges of the file's tags that came from elsewhere."),
    ] = False,
) -> Response:
    """Import a file of ranges sent as the body: one network a line (with ``tag``) or CSV
    ``network,tag[,name]``. It replaces the ranges the same ``name`` brought before; a bad
    line refuses the whole file (422, every bad line in ``problems``)."""
    source = file_source(name)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_IMPORT_BYTES:
            raise ApiProblem(
                413,
                f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB",
                code="iptags_file_too_large",
                fix="split it into several files, each imported under its own name",
            )
    try:
        ranges = parse_ip_ranges(bytes(data), name, tag=tag)
    except IpTagFileError as exc:
        raise ApiProblem(
            422,
            f"{len(exc.lines)} bad line(s) in {name}; nothing was imported",
            code=exc.code,
            fix=exc.fix,
            problems=[{"line": n, "message": m} for n, m in exc.lines],
        ) from None
    tags = {r.tag for r in ranges} | ({normalize_tag(tag)} if tag else set())
    done = ctx.store.ip_tags.import_ranges(
        source, ranges, created_by=principal.name, replace_tags=tags if replace else ()
    )
    result = {
        "source": source,
        "added": done.added,
        "removed": done.removed,
        "unchanged": done.unchanged,
        "version": done.version,
    }
    record(ctx, request, principal, "iptag.import", target=source,
           detail={**result, "replace": sorted(tags) if replace else []})  # fmt: skip
    return ok(result)
