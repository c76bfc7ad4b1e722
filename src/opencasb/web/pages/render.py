"""Rendering the portal's pages: one Jinja2 environment, one response shape.

Everything that came from a SaaS record is untrusted. Autoescaping is on for every
template, and every value a template prints first goes through
:func:`opencasb.text.visible` (the environment's ``finalize``), so neither markup nor
control characters (terminal escapes, bidirectional overrides) ever reach the page as
such: a record's ``<script>`` shows as text and its ``ESC`` as ``\\x1b``. The ``v`` filter
also escapes newlines, for one-line cells.

Every page carries a Content-Security-Policy that allows only the portal's own script and
stylesheet (no inline script or style), and refuses framing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from opencasb.text import visible

__all__ = ["CSP", "STATIC_DIR", "TEMPLATE_DIR", "environment", "render"]

_WEB = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = _WEB / "templates"
STATIC_DIR = _WEB / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _finalize(value: Any) -> Any:
    # Markup is already safe HTML built by a template or a filter; anything else is data.
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value, multiline=True)
    return value


def _one_line(value: Any) -> str:
    return "" if value is None else visible(str(value))


def when(value: datetime | None) -> str:
    """A time as the portal shows it: UTC, to the second (``2026-12-05 19:50:11Z``)."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float | None) -> str:
    """``seconds`` in the largest unit that keeps it readable (``45 s``, ``12 min``, ``3 h``)."""
    if seconds is None:
        return "—"
    s = max(0.0, float(seconds))
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} d"


def number(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,}"


def query(base: Mapping[str, Any], **changes: Any) -> str:
    """``base`` query parameters with ``changes`` (None removes one), as ``?a=1&b=2``."""
    merged = {k: v for k, v in {**base, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"], default=True),
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(v=_one_line, when=when, duration=duration, number=number)
    env.globals.update(query=query)
    return env


_ENV = environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with ``context``, the signed-in viewer and the security headers."""
    from opencasb.web.pages.deps import viewer_or_none

    page = _ENV.get_template(template).render(
        request=request, viewer=viewer_or_none(request), path=request.url.path, **context
    )
    return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)
