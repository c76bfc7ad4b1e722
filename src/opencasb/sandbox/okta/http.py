"""The small request/response vocabulary shared by the emulator's route modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from opencasb.sandbox.okta.auth import Principal
from opencasb.sandbox.okta.errors import bad_request
from opencasb.sandbox.okta.lifecycle import RequestInfo
from opencasb.sandbox.okta.state import OktaState
from opencasb.sandbox.reply import Reply

__all__ = ["Call", "Reply", "int_param", "link_header", "paginate", "url"]


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call as a handler sees it."""

    request: Request
    state: OktaState
    principal: Principal | None  # None only on unauthenticated endpoints (the token endpoint)
    request_id: str
    base: str  # scheme://host the request came to

    def params(self) -> list[tuple[str, str]]:
        """The query parameters, in order, as received."""
        return list(self.request.query_params.multi_items())

    def param(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def info(self) -> RequestInfo:
        client = self.request.client
        query = self.request.url.query
        return RequestInfo(
            ip=client.host if client else "127.0.0.1",
            user_agent=self.request.headers.get("user-agent", ""),
            request_id=self.request_id,
            uri=self.request.url.path + (f"?{query}" if query else ""),
            base=self.base,
        )

    def me(self) -> Principal:
        """The principal of an authenticated endpoint."""
        assert self.principal is not None, "endpoint declared without authentication"
        return self.principal


def url(base: str, path: str, params: list[tuple[str, str]]) -> str:
    """An absolute URL with ``params`` form-encoded in the given order."""
    return f"{base}{path}" + (f"?{urlencode(params)}" if params else "")


def link_header(href: str, rel: str) -> tuple[str, str]:
    """One RFC 8288 ``link`` header line."""
    return ("link", f'<{href}>; rel="{rel}"')


def int_param(call: Call, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter in ``[lo, hi]``, else 400 E0000001 ``Api validation failed``."""
    raw = call.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(name) from None
    if not lo <= value <= hi:
        raise bad_request(name)
    return value


def paginate(
    items: list[dict[str, Any]], after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of ``items`` (objects with ``id``) after the cursor, and the next cursor."""
    start = 0
    if after:
        ids = [it["id"] for it in items]
        # The cursor is the last id of the previous page; resume right after it.
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, (page[-1]["id"] if more and page else None)
