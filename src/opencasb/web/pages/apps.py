"""Connected apps: every instance's health, the "+" menu and its connect dialogs, and one
instance's page (test, edit, disable, enable, remove, Office 365's services seen).

URLs: ``/apps``, ``/apps/connect/okta``, ``/apps/connect/office365``, ``/apps/{name}`` and
the posts under it (``test``, ``edit``, ``disable``, ``enable``, ``remove``), and an Office
365 instance's components, ``/apps/{name}/components``.

Connecting Office 365 takes two steps, as in the seed: the first form ("Connect Office 365")
tests and saves the app registration with the default components; the second shows the
components checklist for the saved instance (Files needs Office 365 activities and file
monitoring), saves the choice after testing again, and ends on "connected" with Close. The
secret is never carried from one step to the next: it is stored by the first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencasb.apps.base import load_app
from opencasb.apps.office365.components import COMPONENTS, DEFAULT_COMPONENTS
from opencasb.errors import NotFound, OpenCASBError
from opencasb.store import InstanceRecord, Store
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages import app_ops
from opencasb.web.pages.deps import audit, form_of, missing, store_of, viewer_of
from opencasb.web.pages.render import render

__all__ = ["router"]

router = APIRouter()

O365_CLOUDS = [
    ("commercial", "Commercial"),
    ("gcc", "GCC"),
    ("gcc_high", "GCC High"),
    ("dod", "DoD"),
]
COMPONENT_HELP = {
    "users_groups": "Always on: the directory's users and groups (Graph).",
    "aad_management": "Directory changes: users, groups, roles, policies.",
    "aad_signins": "Interactive and non-interactive sign-ins.",
    "aad_apps": "App registrations, service principals and consents.",
    "activities": "Exchange, SharePoint, OneDrive, Teams and the other workloads.",
    "files": "File names and sharing from SharePoint and OneDrive; needs Office 365 "
    "activities and file monitoring turned on in the settings.",
}
# Which posted field holds each app's credential, per authentication kind.
_SECRET_FIELDS = {
    "okta": {"ssws": "token", "oauth": "private_key"},
    "office365": {"secret": "client_secret", "certificate": "certificate"},
}


def _rows(request: Request) -> list[dict[str, Any]]:
    store = store_of(request)
    rows = []
    for rec in store.list_instances():
        rows.append({"rec": rec, "h": rec.health, "services": app_ops.services_seen(store, rec)})
    return rows


@router.get("/apps", response_class=HTMLResponse)
def apps_page(request: Request, notice: str = "") -> Response:
    viewer_of(request)
    return render(request, "apps.html", title="Connected apps", rows=_rows(request), notice=notice)


def _dialog(
    request: Request, app: str, values: dict[str, str], error: object = None, code: int = 200
) -> Response:
    title = "Connect Office 365" if app == "office365" else "Connect Okta"
    return render(
        request,
        f"connect_{app}.html",
        status_code=code,
        title=title,
        values=values,
        error=error,
        clouds=O365_CLOUDS,
    )


def _connected(request: Request, rec: InstanceRecord, check: object) -> Response:
    """The last step: connected, the test's result, "Test API" and Close."""
    titles = {k: c.title for k, c in COMPONENTS.items()}
    return render(
        request, "connected.html", title=f"{rec.name} connected", rec=rec, check=check,
        titles=titles,
    )  # fmt: skip


def _components(
    request: Request,
    rec: InstanceRecord,
    chosen: list[str],
    *,
    new: bool,
    check: object = None,
    error: object = None,
    code: int = 200,
) -> Response:
    """The Office 365 components step (``new``: right after "Connect Office 365")."""
    return render(
        request,
        "office365_components.html",
        status_code=code,
        title=f"{rec.name}: Office 365 components",
        rec=rec,
        new=new,
        check=check,
        error=error,
        components=list(COMPONENTS.values()),
        component_help=COMPONENT_HELP,
        chosen=chosen,
        file_monitoring=get_ctx(request).settings.file_monitoring,
    )


@router.get("/apps/connect/{app}", response_class=HTMLResponse)
def connect_dialog(request: Request, app: str) -> Response:
    viewer_of(request, "admin")
    if app not in _SECRET_FIELDS:
        return RedirectResponse("/apps", status_code=303)
    defaults = {"name": app, "auth": "ssws" if app == "okta" else "secret"}
    return _dialog(request, app, defaults)


@router.post("/apps/connect/{app}", response_class=HTMLResponse)
async def connect_post(request: Request, app: str) -> Response:
    viewer, form = await form_of(request, "admin")
    if app not in _SECRET_FIELDS:
        return RedirectResponse("/apps", status_code=303)
    secret_names = {f.name for f in load_app(app).FORM if f.secret}
    auth = form.get("auth", "")
    wanted = _SECRET_FIELDS[app].get(auth)
    secrets = {k: form[k] for k in secret_names if k == wanted and form.get(k)}
    settings = {k: v for k, v in form.items() if k not in secret_names and k != "name"}
    kept = {k: v for k, v in form.items() if k not in secret_names}  # never echo a secret
    try:
        rec, check = app_ops.connect(
            store_of(request), app, form.get("name", ""), settings, secrets
        )
    except OpenCASBError as exc:
        what = {"app": app, "error": str(exc)}
        audit(request, viewer, "app.connect", form.get("name"), outcome="failure", detail=what)
        return _dialog(request, app, kept, app_ops.problem_of(exc), code=422)
    audit(request, viewer, "app.connect", rec.name, detail={"app": app})
    if app == "office365":  # step 2: the components of the instance just saved
        chosen = rec.config.get("components", ",".join(DEFAULT_COMPONENTS)).split(",")
        return _components(request, rec, chosen, new=True, check=check)
    return _connected(request, rec, check)


@router.get("/apps/{name}/components", response_class=HTMLResponse)
def components_page(request: Request, name: str) -> Response:
    viewer_of(request, "admin")
    rec = _get(store_of(request), name)
    if rec.app != "office365":
        return RedirectResponse(f"/apps/{quote(name)}", status_code=303)
    chosen = rec.config.get("components", ",".join(DEFAULT_COMPONENTS)).split(",")
    return _components(request, rec, chosen, new=False)


@router.post("/apps/{name}/components", response_class=HTMLResponse)
async def components_post(request: Request, name: str) -> Response:
    """Save the checked components after testing the connection with them; a choice the
    rules refuse (Files without activities or file monitoring) is explained, nothing saved."""
    viewer, form = await form_of(request, "admin")
    store = store_of(request)
    rec = _get(store, name)
    if rec.app != "office365":
        return RedirectResponse(f"/apps/{quote(name)}", status_code=303)
    chosen = form.get("components", "")
    new = form.get("step") == "new"
    try:
        rec, check = app_ops.update(store, name, {"components": chosen}, {})
    except OpenCASBError as exc:
        problem = app_ops.problem_of(exc)
        return _components(request, rec, chosen.split(","), new=new, error=problem, code=422)
    saved = rec.config.get("components", "")
    audit(request, viewer, "app.components", name, detail={"components": saved})
    if new:
        return _connected(request, rec, check)
    return _app_view(request, name, notice=f"Components saved and tested: {saved}.")


def _get(store: Store, name: str) -> InstanceRecord:
    try:
        return store.get_instance(name)
    except NotFound as exc:
        raise missing(exc) from None


@router.get("/apps/{name}", response_class=HTMLResponse)
def app_page(request: Request, name: str) -> Response:
    viewer_of(request)
    return _app_view(request, name)


def _app_view(
    request: Request,
    name: str,
    *,
    check: object = None,
    error: object = None,
    notice: str = "",
    code: int = 200,
) -> Response:
    store = store_of(request)
    rec = _get(store, name)
    form = [f for f in load_app(rec.app).FORM if not f.secret and f.name != "auth"]
    return render(
        request,
        "app.html",
        status_code=code,
        title=rec.name,
        rec=rec,
        h=rec.health,
        services=app_ops.services_seen(store, rec),
        stored=store.count_activities(rec.id),
        form=form,
        secret_field=_SECRET_FIELDS.get(rec.app, {}).get(rec.config.get("auth", ""), ""),
        check=check,
        error=error,
        notice=notice,
    )


@router.post("/apps/{name}/test", response_class=HTMLResponse)
async def test_post(request: Request, name: str) -> Response:
    viewer, _ = await form_of(request, "admin")
    rec = _get(store_of(request), name)
    try:
        check = app_ops.test_instance(store_of(request), name)
    except OpenCASBError as exc:
        audit(request, viewer, "app.test", name, outcome="failure",
              detail={"app": rec.app, "error": exc.code or type(exc).__name__})  # fmt: skip
        return _app_view(request, name, error=app_ops.problem_of(exc))
    detail = {"app": rec.app, **({"error": check.error.code} if check.error else {})}
    audit(request, viewer, "app.test", name, outcome="success" if check.ok else "failure",
          detail=detail)  # fmt: skip
    return _app_view(request, name, check=check)


@router.post("/apps/{name}/edit", response_class=HTMLResponse)
async def edit_post(request: Request, name: str) -> Response:
    viewer, form = await form_of(request, "admin")
    store = store_of(request)
    rec = _get(store, name)
    secret_names = {f.name for f in load_app(rec.app).FORM if f.secret}
    settings = {k: v for k, v in form.items() if k not in secret_names}
    secrets = {k: v for k, v in form.items() if k in secret_names and v}
    try:
        app_ops.update(store, name, settings, secrets)
    except OpenCASBError as exc:
        return _app_view(request, name, error=app_ops.problem_of(exc), code=422)
    changed = sorted(k for k in (*settings, *secrets) if k != "name")
    audit(request, viewer, "app.edit", name, detail={"fields": changed})
    return _app_view(request, name, notice="Saved and tested; cursors and data were kept.")


@router.post("/apps/{name}/{action}", response_class=HTMLResponse)
async def action_post(request: Request, name: str, action: str) -> Response:
    viewer, _ = await form_of(request, "admin")
    store = store_of(request)
    _get(store, name)
    if action in ("disable", "enable", "remove"):
        audit(request, viewer, f"app.{action}", name)
    if action == "disable":
        app_ops.disable(store, name)
        return _app_view(request, name, notice="Disabled: not polled until enabled again.")
    if action == "enable":
        app_ops.enable(store, name)
        return _app_view(request, name, notice="Enabled: polling resumes where it stopped.")
    if action == "remove":
        app_ops.remove(store, name)
        return RedirectResponse("/apps?" + urlencode({"notice": f"Removed {name}."}), 303)
    return RedirectResponse(f"/apps/{name}", status_code=303)
