"""Keyset pagination for list routes: ``{"items": [...], "next": URL | null}``.

``next`` is the same request's URL with ``after`` set to an opaque token of the last item's
position; a client follows it until it is null. The activity log's positions are
``(time, id)`` pairs encoded like the activity query's tokens
(:func:`opencasb.store.query.encode_after`); other lists encode their sort key (a tuple of
integers and strings) with :func:`encode_key`. A token is only meaningful to the list that
handed it out; anything else is a 400 ``bad_page_token``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi import Request

from opencasb.errors import ConfigError
from opencasb.store.micros import from_micros, to_micros
from opencasb.store.query import decode_after, encode_after

__all__ = [
    "decode_key",
    "decode_position",
    "decode_time_key",
    "encode_key",
    "encode_position",
    "encode_time_key",
    "next_link",
    "page",
    "page_of_ids",
]


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


def _bad_token() -> ConfigError:
    return ConfigError(
        "invalid page token in 'after'",
        meaning="The 'after' value is not a token this list handed out.",
        fix="Start again from the first page (omit 'after') and follow each page's next link.",
        code="bad_page_token",
    )


def encode_key(parts: Sequence[int | str]) -> str:
    """The opaque token of a sort key (integers and strings)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_key(token: str, shape: Sequence[type]) -> tuple[Any, ...]:
    """The sort key of ``token``, whose parts must have the types of ``shape`` (int or str).

    Raises:
        ConfigError: (400 ``bad_page_token``) anything else.
    """
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise _bad_token() from None
    if not isinstance(value, list) or len(value) != len(shape):
        raise _bad_token()
    for part, kind in zip(value, shape, strict=True):
        # bool is an int to Python, never to a token we made; ints stay within 64 bits
        if type(part) is not kind:
            raise _bad_token()
        if isinstance(part, int) and not -(2**63) <= part < 2**63:
            raise _bad_token()
    return tuple(value)


def page_of_ids(ids: Sequence[int], token: str | None, limit: int) -> tuple[list[int], str | None]:
    """Keyset paging over a stored list of distinct ids (an alert's evidence, in its own
    order): the first ``limit`` ids after the one ``token`` names (from the start when None),
    and the token of the last of them when more follow (else None).

    Raises:
        ConfigError: (400 ``bad_page_token``) a token that names no id of ``ids``.
    """
    start = 0
    if token:
        (last,) = decode_key(token, (int,))
        try:
            start = list(ids).index(last) + 1
        except ValueError:
            raise _bad_token() from None
    chunk = list(ids[start : start + limit])
    more = start + limit < len(ids)
    return chunk, encode_key([chunk[-1]]) if more and chunk else None


def encode_time_key(time: datetime, key: str) -> str:
    """The token of a (time, text id) position."""
    return encode_key([to_micros(time), key])


def decode_time_key(token: str) -> tuple[datetime, str]:
    t, key = decode_key(token, (int, str))
    try:
        return from_micros(t), key
    except (OverflowError, ValueError):
        raise _bad_token() from None
