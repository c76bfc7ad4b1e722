"""Keyset pagination for list routes: ``{"items": [...], "next": URL | null}``.

``next`` is the same request's URL with ``after`` set to an opaque token of the last item's
position; a client follows it until it is null. Positions are ``(time, id)`` pairs encoded
like the activity query's tokens (:func:`opencasb.store.query.encode_after`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from opencasb.store.micros import from_micros, to_micros
from opencasb.store.query import decode_after, encode_after

__all__ = ["decode_position", "encode_position", "next_link", "page"]


def next_link(request: Request, token: str | None) -> str | None:
    """The URL of the next page (this request's, with ``after=token``), or None."""
    if token is None:
        return None
    return str(request.url.include_query_params(after=token))


def page(request: Request, items: list[Any], token: str | None) -> dict[str, Any]:
    return {"items": items, "next": next_link(request, token)}


def encode_position(time: datetime, row_id: int) -> str:
    return encode_after(to_micros(time), row_id)


def decode_position(token: str) -> tuple[datetime, int]:
    """Raises ConfigError (400) for a token this server did not hand out."""
    t, i = decode_after(token)
    return from_micros(t), i
