"""The small request/response vocabulary shared by the emulator's route modules."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from opencasb.sandbox.office365.ratelimit import Limits
from opencasb.sandbox.office365.state import O365State
from opencasb.sandbox.office365.tokens import Caller
from opencasb.sandbox.reply import Reply

__all__ = ["Call", "Reply"]


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call as a handler sees it."""

    request: Request
    state: O365State
    caller: Caller
    request_id: str
    base: str  # scheme://host the request came to
    limits: Limits
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """A query parameter by name, case-insensitively (beats sends
        ``publisherIdentifier``, the docs ``PublisherIdentifier``, research §1.7)."""
        wanted = name.lower()
        for key, value in self.request.query_params.multi_items():
            if key.lower() == wanted:
                return value
        return None

    def params(self) -> list[tuple[str, str]]:
        """The query parameters, in order, as received."""
        return list(self.request.query_params.multi_items())

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])
