"""Settings: users and API tokens (admins manage them here), notifiers (admins add, test,
enable, disable and remove them: :mod:`opencasb.web.pages.settings_notifiers`), IP tags,
the Sigma rule folder (every rule that evaluates, every one that does not and why), file
monitoring, and the other settings the server runs with (read from the environment or the
config file; the page says which variable sets each, and how to change it).

URLs: ``/settings``; posts ``/settings/users`` (add), ``/settings/users/{name}/role``,
``/settings/users/{name}/remove``, ``/settings/tokens`` (create: the token is shown once),
``/settings/tokens/{id}/revoke``. Every change is audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencasb.errors import ConfigError, NotFound, OpenCASBError
from opencasb.notify.config import SEVERITIES, destination
from opencasb.web.auth.accounts import add_user, remove_user, set_role
from opencasb.web.auth.credentials import digest, new_api_token
from opencasb.web.auth.deps import get_ctx
from opencasb.web.auth.roles import parse_role
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import ROLES, Viewer, audit, form_of, missing, viewer_of
from opencasb.web.pages.render import render
from opencasb.web.sigma_view import sigma_view

__all__ = ["router", "view"]

router = APIRouter()


def view(
    request: Request,
    viewer: Viewer,
    *,
    error: object = None,
    notice: str = "",
    new_token: str = "",
    new_signing_key: str = "",
    code: int = 200,
) -> Response:
    """The Settings page (``error`` or ``notice`` above it; a new token or generated
    signing key shown once)."""
    ctx = get_ctx(request)
    store, s = ctx.store, ctx.settings
    notes = store.notifications
    counts = notes.queue_counts()
    ranges = ctx.get_enricher().ip_ranges
    by_tag: dict[str, list[str]] = {}
    for r in ranges:
        by_tag.setdefault(r.tag, []).append(r.network)
    server = [
        ("Retention", f"{s.retention_days} days", "OPENCASB_RETENTION_DAYS"),
        ("Poll interval", f"{s.poll_interval} s", "OPENCASB_POLL_INTERVAL"),
        ("Anomaly detection", "on" if s.anomaly_detection else "off", "OPENCASB_ANOMALY_DETECTION"),
        ("Anomaly sensitivity", s.anomaly_sensitivity, "OPENCASB_ANOMALY_SENSITIVITY"),
        ("GeoIP City database", str(s.geoip_city_mmdb or "built-in"), "OPENCASB_GEOIP_CITY_MMDB"),
        ("Database engine", store.dialect, "OPENCASB_DATABASE_URL"),
        ("Data folder", str(s.data_dir), "OPENCASB_DATA_DIR"),
    ]
    admin = viewer.is_admin
    return render(
        request,
        "settings.html",
        code,
        title="Settings",
        users=store.portal.list_users() if admin else [],
        tokens=store.portal.list_tokens() if admin else [],
        roles=ROLES,
        notifiers=[
            (n, counts.get(n.id, {"pending": 0, "dead": 0}), destination(n.kind, n.config))
            for n in notes.all()
        ],
        severities=SEVERITIES,
        sigma=sigma_view(s),
        file_monitoring=s.file_monitoring,
        new_signing_key=new_signing_key,
        ip_tags=sorted(by_tag.items()),
        server=server,
        error=error,
        notice=notice,
        new_token=new_token,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request) -> Response:
    return view(request, viewer_of(request))


def _done(request: Request, viewer: Viewer, fn: Any, notice: str) -> Response:
    try:
        fn()
    except NotFound as exc:
        raise missing(exc) from None
    except OpenCASBError as exc:
        return view(request, viewer, error=problem_of(exc), code=422)
    return (
        RedirectResponse("/settings", status_code=303)
        if not notice
        else view(request, viewer, notice=notice)
    )


@router.post("/settings/users", response_class=HTMLResponse)
async def add_user_post(request: Request) -> Response:
    viewer, form = await form_of(request, "admin")
    ctx = get_ctx(request)
    name, role = form.get("username", ""), form.get("role", "read_only")

    def go() -> None:
        user = add_user(ctx.store, ctx.password_hasher, name, form.get("password", ""), role)
        audit(request, viewer, "user.add", user.username, detail={"role": user.role})

    return _done(request, viewer, go, f"Added {name}.")


@router.post("/settings/users/{username}/{action}", response_class=HTMLResponse)
async def user_action_post(request: Request, username: str, action: str) -> Response:
    viewer, form = await form_of(request, "admin")
    store = get_ctx(request).store

    def go() -> None:
        if action == "role":
            role = parse_role(form.get("role", ""))
            set_role(store, username, role)
            audit(request, viewer, "user.set_role", username, detail={"role": role.value})
        elif action == "remove":
            remove_user(store, username)
            audit(request, viewer, "user.remove", username)
        else:
            raise ConfigError(f"unknown action {action!r}")

    return _done(request, viewer, go, "")


@router.post("/settings/tokens", response_class=HTMLResponse)
async def token_post(request: Request) -> Response:
    viewer, form = await form_of(request, "admin")
    store = get_ctx(request).store
    name = form.get("name", "").strip()
    try:
        if not name:
            raise ConfigError("the token needs a name", fix="e.g. the script that will use it")
        role = parse_role(form.get("role", "read_only"))
    except OpenCASBError as exc:
        return view(request, viewer, error=problem_of(exc), code=422)
    value = new_api_token()
    t = store.portal.add_token(name, digest(value), value[:10], role.value, viewer.name)
    audit(request, viewer, "token.create", f"{t.id}:{t.name}", detail={"role": t.role})
    return view(request, viewer, new_token=value, notice=f"Created the token {name}.")


@router.post("/settings/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke_post(request: Request, token_id: int) -> Response:
    viewer, _ = await form_of(request, "admin")
    store = get_ctx(request).store

    def go() -> None:
        t = store.portal.revoke_token(token_id)
        audit(request, viewer, "token.revoke", f"{t.id}:{t.name}")

    return _done(request, viewer, go, "")
