"""The answer an emulator route handler returns; the app turns it into an HTTP response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["Reply"]


@dataclass(slots=True)
class Reply:
    """A handler's answer: status, JSON bytes (None for an empty body) and extra headers."""

    status: int = 200
    body: bytes | None = b"{}"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status, orjson.dumps(value))
