"""What the API's routes share: the context dependency, JSON answers, times, filters.

Answers are written with orjson straight from the dataclasses (no per-field conversion):
times as ISO 8601 in UTC with a ``Z``, enums as their values, vendor mappings as objects.
A vendor record holding an integer beyond 64 bits falls back to the store's JSON writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query
from fastapi.responses import Response

from opencasb.clock import utc
from opencasb.errors import ConfigError
from opencasb.store.codec import dumps as store_dumps
from opencasb.web.auth.deps import get_ctx
from opencasb.web.context import WebContext

__all__ = ["Ctx", "Limit", "json_bytes", "ok", "parse_time"]

Ctx = Annotated[WebContext, Depends(get_ctx)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str) if not isinstance(value, tuple) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_bytes(content: Any) -> bytes:
    """``content`` as JSON (see the module's docstring)."""
    try:
        return orjson.dumps(
            content, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
        )
    except TypeError:
        return store_dumps(content).encode()


def ok(content: Any, status: int = 200) -> Response:
    """A JSON answer."""
    return Response(json_bytes(content), status_code=status, media_type="application/json")


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time from a query parameter (a date means its midnight UTC; no zone
    means UTC). Raises ConfigError (400) naming the parameter."""
    if value is None or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise ConfigError(
            f"'{name}' is not an ISO 8601 time: {value!r}",
            fix="give a time such as 2026-11-01T12:00:00Z or a date such as 2026-11-01",
            code="bad_time",
        ) from None
