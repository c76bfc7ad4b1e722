"""HTTP failure policy as data: what to do for each status code.

Airbyte's lesson: a table drives both the retry loop and what the UI says ("fix your
credentials" versus "will retry"), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from opencasb.errors import (
    AuthFailed,
    ConnectorError,
    ErrorInfo,
    PermissionDenied,
    RateLimited,
    UpstreamError,
)

__all__ = ["DEFAULT_POLICY", "Action", "ErrorPolicy", "Resolution"]


class Action(StrEnum):
    RETRY = "retry"  # transient: back off and try again
    RATE_LIMITED = "rate_limited"  # wait for the window to reset, then try again
    FAIL = "fail"  # the user must act; retrying cannot help


@dataclass(frozen=True, slots=True)
class Resolution:
    action: Action
    error: type[ConnectorError]
    message: str
    fix: str = ""


@dataclass(frozen=True)
class ErrorPolicy:
    """Status code → Resolution, plus the app's catalogue of vendor error codes.

    ``extract_code`` pulls the vendor code (``E0000011``, ``AF20023``) out of an error body;
    ``catalogue`` maps that code to what it means and how to fix it. ``by_code`` overrides
    the status for APIs whose status says little (the Management Activity API answers 400
    for both "retry this window" and "your tenant has no licence", and 403 for throttling).
    """

    by_status: Mapping[int, Resolution]
    catalogue: Mapping[str, ErrorInfo] = field(default_factory=dict)
    extract_code: Callable[[bytes], tuple[str, str]] = lambda body: ("", "")
    by_code: Mapping[str, Resolution] = field(default_factory=dict)

    def resolve(self, status: int, code: str = "") -> Resolution:
        """The resolution for ``code`` if the policy names it, else for ``status``; unknown
        5xx retry, other unknown statuses fail."""
        if code and code in self.by_code:
            return self.by_code[code]
        if status in self.by_status:
            return self.by_status[status]
        if status >= 500:
            return Resolution(Action.RETRY, UpstreamError, f"the API failed with HTTP {status}")
        return Resolution(
            Action.FAIL,
            ConnectorError,
            f"the API refused the request with HTTP {status}",
            "check the connector's settings; if they are right, report this as a bug",
        )


DEFAULT_POLICY: Mapping[int, Resolution] = {
    401: Resolution(
        Action.FAIL,
        AuthFailed,
        "the API refused the credential",
        "store a valid one with `opencasb apps edit NAME --new-secret`",
    ),
    403: Resolution(
        Action.FAIL,
        PermissionDenied,
        "the credential lacks a permission this needs",
        "grant the missing role or scope, then test again",
    ),
    408: Resolution(Action.RETRY, UpstreamError, "the API timed out"),
    429: Resolution(Action.RATE_LIMITED, RateLimited, "the API's rate limit was exceeded"),
    500: Resolution(Action.RETRY, UpstreamError, "the API had an internal error"),
    502: Resolution(Action.RETRY, UpstreamError, "a gateway in front of the API failed"),
    503: Resolution(Action.RETRY, UpstreamError, "the API is unavailable"),
    504: Resolution(Action.RETRY, UpstreamError, "a gateway in front of the API timed out"),
}
