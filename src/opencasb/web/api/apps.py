"""``/api/v1/apps``: connected app instances with their health; connect, test, edit,
disable, enable, remove (admin), and the catalogue of apps with their connect forms.

Connecting goes through :func:`opencasb.ingest.connect.connect_instance`, the code path of
``opencasb connect``. Secrets go in (``secrets``) but never come out: an instance's answer
holds its non-secret settings and health only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from opencasb.apps.base import ConnectionCheck, available_apps, connector_for, load_app
from opencasb.errors import ConfigError
from opencasb.http.options import HttpOptions
from opencasb.ingest.connect import (
    ConnectionTestFailed,
    check_connection,
    check_secret,
    connect_instance,
)
from opencasb.ingest.health import changed_by_user
from opencasb.ingest.runner import SERVICES_STATE
from opencasb.store import InstanceRecord
from opencasb.web.api.common import Ctx, ok
from opencasb.web.auth.audit import record
from opencasb.web.auth.deps import Admin, Reader
from opencasb.web.auth.roles import Principal
from opencasb.web.context import WebContext
from opencasb.web.problems import ApiProblem

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])


class ConnectIn(BaseModel):
    app: str = Field(description="okta or office365 (GET /api/v1/apps/catalog lists them).")
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, str] = Field(default_factory=dict, description="Non-secret settings.")
    secrets: dict[str, str] = Field(default_factory=dict, description="Token, key or secret.")
    interval_seconds: int = Field(default=60, ge=1, le=86400)
    skip_test: bool = False
    replace: bool = False
    reset: bool = False


class DraftTest(BaseModel):
    app: str
    config: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)


class EditIn(BaseModel):
    config: dict[str, str] = Field(default_factory=dict, description="Settings to change.")
    secrets: dict[str, str] = Field(
        default_factory=dict, description="Credentials to replace (the others are kept)."
    )
    interval_seconds: int | None = Field(default=None, ge=1, le=86400)
    skip_test: bool = False


def instance_json(ctx: Ctx, rec: InstanceRecord) -> dict[str, Any]:
    """What the API shows of an instance: settings, health, services; never its secrets."""
    return {
        "name": rec.name,
        "app": rec.app,
        "enabled": rec.enabled,
        "state": rec.health.state.value,
        "interval_seconds": rec.interval_seconds,
        "created_at": rec.created_at,
        "config": rec.config,
        "services": sorted(ctx.store.get_state(rec.id, SERVICES_STATE) or {}),
        "health": rec.health,
    }


def _check_json(check: ConnectionCheck) -> dict[str, Any]:
    return {
        "ok": check.ok,
        "summary": check.summary,
        "error": check.error,
        "details": dict(check.details),
    }


def _secrets(app: str, values: dict[str, str]) -> dict[str, str]:
    """The given secrets, checked against the app's form (names and characters)."""
    form = {f.name: f for f in load_app(app).FORM if f.secret}
    out = {}
    for key, value in values.items():
        if key not in form:
            raise ConfigError(
                f"{key!r} is not a credential of {app}",
                fix=f"credentials of {app}: {', '.join(form)}",
                code="bad_secret_field",
            )
        out[key] = check_secret(form[key].label, value.strip())
    return out


@router.get("")
def list_apps(principal: Reader, ctx: Ctx) -> Response:
    """Every connected instance with its state, health (last poll, newest event, lag,
    counts, last error with meaning and fix) and the services seen (Office 365)."""
    return ok({"items": [instance_json(ctx, r) for r in ctx.store.list_instances()]})


@router.get("/catalog")
def catalog(principal: Reader) -> Response:
    """The apps that can be connected and the fields of their connect forms."""
    items = []
    for name, cls in sorted(available_apps().items()):
        fields = [
            {
                "name": f.name,
                "label": f.label,
                "secret": f.secret,
                "required": f.required,
                "help": f.help,
                "default": f.default,
            }
            for f in cls.FORM
        ]
        items.append({"app": name, "title": cls.TITLE, "fields": fields})
    return ok({"items": items})


@router.get("/{name}")
def get_app(name: str, principal: Reader, ctx: Ctx) -> Response:
    return ok(instance_json(ctx, ctx.store.get_instance(name)))


@router.post("", status_code=201)
def connect(body: ConnectIn, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Connect an app: validate, test, and save only if the test passed (422 with the
    test's result otherwise). ``replace`` gives an existing instance new settings, keeping
    its data; ``reset`` with it starts the instance over."""
    secrets = _secrets(body.app, body.secrets)
    try:
        done = connect_instance(
            ctx.store,
            body.app,
            body.name.strip(),
            body.config,
            secrets,
            interval=body.interval_seconds,
            skip_test=body.skip_test,
            replace=body.replace,
            reset=body.reset,
        )
    except ConnectionTestFailed as exc:
        record(ctx, request, principal, "app.connect", target=body.name, outcome="failure",
               detail={"app": body.app, "error": exc.code})  # fmt: skip
        raise ApiProblem(
            422, exc.message, code=exc.code, fix=exc.fix, test=_check_json(exc.check)
        ) from None
    record(ctx, request, principal, "app.connect", target=done.record.name,
           detail={"app": body.app, "replace": body.replace, "reset": body.reset})  # fmt: skip
    out = instance_json(ctx, done.record)
    out["test"] = _check_json(done.check) if done.check else None
    out["kept"] = done.kept
    return ok(out, 201)


@router.post("/test")
def test_draft(body: DraftTest, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Test settings and credentials without saving anything (the dialogs' "Test
    connection"); audited as ``app.test`` (an admin's credentials reaching out)."""
    config = load_app(body.app).validate_config(body.config)
    check = check_connection(body.app, config, _secrets(body.app, body.secrets))
    _audit_test(ctx, request, principal, None, body.app, check)
    return ok(_check_json(check))


@router.post("/{name}/test")
def test_instance(name: str, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Test a connected instance's stored settings and credentials (audited: ``app.test``)."""
    rec = ctx.store.get_instance(name)
    connector = connector_for(rec, ctx.store.instance_secrets(rec), http=HttpOptions(max_retries=1))
    try:
        check = connector.test()
    finally:
        connector.close()
    _audit_test(ctx, request, principal, rec.name, rec.app, check)
    return ok(_check_json(check))


def _audit_test(
    ctx: WebContext,
    request: Request,
    principal: Principal,
    name: str | None,
    app: str,
    check: ConnectionCheck,
) -> None:
    detail: dict[str, Any] = {"app": app}
    if check.error is not None:
        detail["error"] = check.error.code
    outcome = "success" if check.ok else "failure"
    record(ctx, request, principal, "app.test", target=name, outcome=outcome, detail=detail)


@router.patch("/{name}")
def edit_app(name: str, body: EditIn, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Change settings, replace credentials or the interval, keeping cursors and data. A
    change to the connection is tested first (422 and nothing saved when it fails)."""
    store = ctx.store
    rec = store.get_instance(name)
    cls = load_app(rec.app)
    config = cls.validate_config({**rec.config, **body.config}) if body.config else rec.config
    changed = sorted(k for k in config if config[k] != rec.config.get(k))
    new_secrets = _secrets(rec.app, body.secrets) if body.secrets else None
    secrets = None
    if new_secrets:
        secrets = {**store.instance_secrets(rec), **new_secrets}
        changed += sorted(new_secrets)
    if not changed and body.interval_seconds is None:
        raise ConfigError(f"nothing to change in {name}", code="nothing_to_change")
    if changed and not body.skip_test:
        check = check_connection(rec.app, config, secrets or store.instance_secrets(rec))
        if not check.ok:
            raise ApiProblem(
                422,
                f"connection test failed: {check.summary}; nothing was saved",
                code=check.error.code if check.error else "connection_test_failed",
                fix=check.error.fix if check.error else "",
                test=_check_json(check),
            )
    rec = store.update_instance(
        name,
        config=config if body.config else None,
        secrets=secrets,
        interval_seconds=body.interval_seconds,
    )
    store.set_health(rec.id, changed_by_user(rec.health, enabled=rec.enabled))
    record(ctx, request, principal, "app.edit", target=name,
           detail={"changed": changed, "interval": body.interval_seconds})  # fmt: skip
    return ok(instance_json(ctx, store.get_instance(name)))


def _set_enabled(ctx: Ctx, name: str, enabled: bool) -> InstanceRecord:
    store = ctx.store
    rec = store.get_instance(name)
    if (
        enabled
        and any(f.secret for f in load_app(rec.app).FORM)
        and not (store.instance_secrets(rec))
    ):
        raise ConfigError(
            f"{name} holds imported history only: it has no credentials to poll with",
            fix="give it credentials by connecting it again with replace=true",
            code="import_only",
        )
    rec = store.update_instance(name, enabled=enabled)
    store.set_health(rec.id, changed_by_user(rec.health, enabled=enabled))
    return store.get_instance(name)


@router.post("/{name}/disable")
def disable(name: str, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Stop polling an instance; its data stays searchable."""
    rec = _set_enabled(ctx, name, False)
    record(ctx, request, principal, "app.disable", target=name)
    return ok(instance_json(ctx, rec))


@router.post("/{name}/enable")
def enable(name: str, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Poll an instance again, from where it stopped."""
    rec = _set_enabled(ctx, name, True)
    record(ctx, request, principal, "app.enable", target=name)
    return ok(instance_json(ctx, rec))


@router.delete("/{name}", status_code=204)
def remove(name: str, request: Request, principal: Admin, ctx: Ctx) -> Response:
    """Remove an instance with everything stored for it (cannot be undone)."""
    rec = ctx.store.get_instance(name)
    count = ctx.store.count_activities(rec.id)
    ctx.store.remove_instance(name)
    record(ctx, request, principal, "app.remove", target=name, detail={"activities": count})
    return Response(status_code=204)
