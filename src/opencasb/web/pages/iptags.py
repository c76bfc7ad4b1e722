"""Settings › IP tags: the tagged IP ranges, by tag; an analyst adds, removes and imports.

URLs: ``/settings/ip-tags`` (``?tag=`` one tag, ``?after=`` the next page); posts
``/settings/ip-tags/add``, ``/settings/ip-tags/{id}/remove`` and ``/settings/ip-tags/import``
(a file upload: ``multipart/form-data``). Tags are detection tuning, so the analyst role
changes them, as through the API (:mod:`opencasb.web.api.iptags`); a read-only viewer sees
the ranges and no control that changes them. Every change is audited, and the portal's and a
running sync's enrichment follow it (the tag-set version moves).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from opencasb.enrich.iptags import KNOWN_TAGS, IpTagFileError, normalize_tag, parse_ip_ranges
from opencasb.errors import ConfigError, NotFound, OpenCASBError
from opencasb.store.iptags import IpTagRecord, file_source
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import Viewer, audit, form_of, missing, viewer_of
from opencasb.web.pages.render import render

__all__ = ["MAX_UPLOAD_BYTES", "PAGE_SIZE", "router"]

router = APIRouter()

PAGE_SIZE = 500
"""Ranges a page shows (a threat-intelligence list can hold a hundred thousand)."""
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _view(
    request: Request,
    viewer: Viewer,
    *,
    tag: str = "",
    after: int | None = None,
    error: object = None,
    problems: list[tuple[int | None, str]] | None = None,
    notice: str = "",
    code: int = 200,
) -> Response:
    tags = get_ctx(request).store.ip_tags
    counts = tags.counts()
    try:
        shown = normalize_tag(tag) if tag else ""
    except ValueError as exc:
        error, shown = error or problem_of(ConfigError(str(exc))), ""
    rows = tags.records(tag=shown or None, after=after, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    groups: dict[str, list[IpTagRecord]] = {}
    for r in sorted(rows, key=lambda r: (r.tag, r.range.version, r.range.first, r.id)):
        groups.setdefault(r.tag, []).append(r)
    return render(
        request,
        "ip_tags.html",
        code,
        title="IP tags",
        counts=sorted(counts.items()),
        total=sum(counts.values()),
        groups=sorted(groups.items()),
        tag=shown,
        known=KNOWN_TAGS,
        next_after=rows[-1].id if more else None,
        paged=after is not None,
        version=tags.version(),
        error=error,
        problems=problems or [],
        notice=notice,
    )


@router.get("/settings/ip-tags", response_class=HTMLResponse)
def ip_tags_page(request: Request, tag: str = "", after: int | None = None) -> Response:
    return _view(request, viewer_of(request), tag=tag, after=after)


def _failed(request: Request, viewer: Viewer, exc: OpenCASBError) -> Response:
    return _view(request, viewer, error=problem_of(exc), code=422)


@router.post("/settings/ip-tags/add", response_class=HTMLResponse)
async def add_post(request: Request) -> Response:
    viewer, form = await form_of(request, "analyst")
    tags = get_ctx(request).store.ip_tags
    try:
        r = tags.add(
            form.get("network", ""),
            form.get("tag", ""),
            name=form.get("name", "").strip(),
            source=f"api:{viewer.name}",
            created_by=viewer.name,
        )
    except OpenCASBError as exc:
        return _failed(request, viewer, exc)
    audit(request, viewer, "iptag.add", f"{r.network} {r.tag}", detail={"id": r.id, "name": r.name})
    return _view(request, viewer, notice=f"Tagged {r.network} as {r.tag}.")


@router.post("/settings/ip-tags/{range_id}/remove", response_class=HTMLResponse)
async def remove_post(request: Request, range_id: int) -> Response:
    viewer, _ = await form_of(request, "analyst")
    try:
        (r,) = get_ctx(request).store.ip_tags.remove(range_id)
    except NotFound as exc:
        raise missing(exc) from None
    audit(request, viewer, "iptag.remove", f"{r.network} {r.tag}",
          detail={"id": r.id, "source": r.source})  # fmt: skip
    return _view(request, viewer, notice=f"Removed {r.network} ({r.tag}).")


async def _upload(request: Request) -> tuple[str, bytes]:
    """The uploaded file's name and contents (the form was parsed, and its CSRF token
    checked, by :func:`form_of`; Starlette keeps the parsed form on the request)."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ConfigError("choose a file to import", fix="pick the file, then Import")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ConfigError(
            f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB",
            fix="split it into several files, each imported under its own name",
        )
    return upload.filename, data


@router.post("/settings/ip-tags/import", response_class=HTMLResponse)
async def import_post(request: Request) -> Response:
    viewer, form = await form_of(request, "analyst")
    tags = get_ctx(request).store.ip_tags
    tag = form.get("tag", "").strip() or None
    try:
        filename, data = await _upload(request)
        source = file_source(filename)
        name = source.removeprefix("file:")
        ranges = parse_ip_ranges(data, name, tag=tag)
        wanted = {r.tag for r in ranges} | ({normalize_tag(tag)} if tag else set())
        replace = sorted(wanted) if form.get("replace") else []
        done = tags.import_ranges(source, ranges, created_by=viewer.name, replace_tags=replace)
    except IpTagFileError as exc:
        problem = problem_of(exc)
        head = f"{len(exc.lines)} bad line(s) in {exc.path}: nothing was imported"
        error: Any = {"message": head, "fix": problem.fix}
        return _view(request, viewer, error=error, problems=list(exc.lines), code=422)
    except OpenCASBError as exc:
        return _failed(request, viewer, exc)
    result = {"added": done.added, "removed": done.removed, "unchanged": done.unchanged}
    audit(request, viewer, "iptag.import", source, detail={**result, "replace": replace})
    return _view(
        request,
        viewer,
        notice=f"Imported {name}: {done.added} added, {done.removed} removed, "
        f"{done.unchanged} unchanged.",
    )
