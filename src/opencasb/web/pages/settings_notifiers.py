"""Settings › Notifiers: add a webhook, syslog (CEF) or SMTP notifier, send it a test event,
enable, disable, queue its dead letters again, remove it. Administrators only; audited.

What the CLI's ``opencasb notifiers`` does, on the same store functions and senders. A
secret (the webhook's signing key, the SMTP password) goes from the form to the store
encrypted and is never put back into a page, except a signing key the server generated,
shown once for the receiver's configuration (like a new API token).

Posts: ``/settings/notifiers`` (add; ``kind`` is webhook, syslog or email) and
``/settings/notifiers/{name}/test|enable|disable|retry|remove``.
"""

from __future__ import annotations

import secrets as _random
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opencasb.errors import ConfigError, NotFound, OpenCASBError
from opencasb.notify.config import parse_config
from opencasb.notify.payload import test_event
from opencasb.notify.senders import make_sender
from opencasb.web.auth.deps import get_ctx
from opencasb.web.pages.app_ops import problem_of
from opencasb.web.pages.deps import audit, form_of, missing
from opencasb.web.pages.settings import view

__all__ = ["router"]

router = APIRouter()

MIN_SIGNING_KEY = 16  # as `opencasb notifiers add webhook` asks


def _opt(form: dict[str, str], key: str) -> str | None:
    value = form.get(key, "").strip()
    return value or None


def _settings(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The notifier's settings from the form's fields (empty ones take the defaults)."""
    out: dict[str, Any] = {"min_severity": form.get("min_severity") or "informational"}
    if kind == "webhook":
        out.update(url=form.get("url", "").strip(), ca_file=_opt(form, "ca_file"))
    elif kind == "syslog":
        out.update(host=form.get("host", "").strip(), port=_opt(form, "port") or 514,
                   protocol=form.get("protocol") or "udp",
                   framing=form.get("framing") or "octet-counting",
                   ca_file=_opt(form, "ca_file"))  # fmt: skip
    elif kind == "email":
        recipients = [r.strip() for r in form.get("recipients", "").split(",") if r.strip()]
        out.update(host=form.get("host", "").strip(), port=_opt(form, "port") or 587,
                   security=form.get("security") or "starttls", username=_opt(form, "username"),
                   sender=form.get("sender", "").strip(), recipients=recipients)  # fmt: skip
    else:
        raise ConfigError(f"unknown notifier kind {kind!r}", fix="webhook, syslog or email")
    return out


@router.post("/settings/notifiers", response_class=HTMLResponse)
async def add_post(request: Request) -> Response:
    viewer, form = await form_of(request, "admin")
    notes = get_ctx(request).store.notifications
    kind, name = form.get("kind", ""), form.get("name", "").strip()
    shown_key = ""
    try:
        if not name:
            raise ConfigError("the notifier needs a name", fix="e.g. siem or soc-mailbox")
        config = parse_config(kind, _settings(kind, form)).model_dump(mode="json")
        secrets: dict[str, str] = {}
        if kind == "webhook":
            key = form.get("signing_key", "")
            if not key:
                key = shown_key = _random.token_urlsafe(32)
            elif len(key) < MIN_SIGNING_KEY:
                raise ConfigError(
                    f"the signing key is shorter than {MIN_SIGNING_KEY} characters",
                    fix="use a long random key, or leave it empty to have one made",
                )
            secrets["signing_key"] = key
        elif kind == "email" and config.get("username") and form.get("password"):
            secrets["password"] = form["password"]
        rec = notes.add(kind, name, config, secrets)
    except OpenCASBError as exc:
        return view(request, viewer, error=problem_of(exc), code=422)
    audit(request, viewer, "notifier.add", rec.name, detail={"kind": kind})
    notice = f"Added the {kind} notifier {rec.name}; send it a test to see it arrive."
    return view(request, viewer, notice=notice, new_signing_key=shown_key)


@router.post("/settings/notifiers/{name}/{action}", response_class=HTMLResponse)
async def action_post(request: Request, name: str, action: str) -> Response:
    viewer, _ = await form_of(request, "admin")
    ctx = get_ctx(request)
    notes = ctx.store.notifications
    try:
        rec = notes.get(name)
        if action == "test":
            sender = make_sender(rec, notes.secrets(rec), ctx.clock)
            try:
                answer = sender.send(test_event(ctx.clock.now()))
            finally:
                sender.close()
            notice = f"Test sent to {rec.name}: {answer}"
        elif action in ("enable", "disable"):
            notes.set_enabled(name, action == "enable")
            notice = f"{'Enabled' if action == 'enable' else 'Disabled'} {rec.name}."
        elif action == "retry":
            n = notes.retry_dead(ctx.clock.now(), notifier_id=rec.id)
            notice = f"Queued {n} dead letter(s) of {rec.name} again; the next pass sends them."
        elif action == "remove":
            notes.remove(name)
            notice = f"Removed {rec.name} with its queue and dead letters."
        else:
            raise ConfigError(
                f"unknown action {action!r}", fix="test, enable, disable, retry, remove"
            )
    except NotFound as exc:
        raise missing(exc) from None
    except OpenCASBError as exc:
        outcome = "failure"
        audit(request, viewer, f"notifier.{action}", name, outcome=outcome)
        return view(request, viewer, error=problem_of(exc), code=422)
    audit(request, viewer, f"notifier.{action}", name)
    return view(request, viewer, notice=notice)
