"""The one exception tree of OpenCASB.

Every error a user can meet says what happened (``meaning``) and what to do (``fix``), and
whether retrying can help (``transient``). Third-party exceptions are translated at the
boundary where they occur; nothing outside this tree should escape a public function.

::

    OpenCASBError
    ├── ConfigError            settings, config files, connect forms (the user must fix them)
    ├── ConnectorError         talking to a SaaS API (carries app, instance, status, code)
    │   ├── ConnectionFailed   DNS, TCP or TLS failure before any HTTP answer   (transient)
    │   ├── AuthFailed         the credential is wrong, expired or revoked     (needs the user)
    │   ├── PermissionDenied   the credential lacks a role or scope             (needs the user)
    │   ├── RateLimited        the API said 429                                 (transient)
    │   ├── UpstreamError      5xx, timeouts, unexpected answers                (transient)
    │   └── UnsafeResponse     a response we refuse to follow (hostile Link header, bad JSON)
    ├── NormalizeError         one raw record could not be normalized (it is kept, quarantined)
    ├── StoreError             the database failed or holds something we cannot read
    ├── InstanceBusy           another process holds the instance's sync lease  (transient)
    └── NotFound               a named thing (instance, activity) does not exist
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuthFailed",
    "ConfigError",
    "ConnectionFailed",
    "ConnectorError",
    "ErrorInfo",
    "InstanceBusy",
    "NormalizeError",
    "NotFound",
    "OpenCASBError",
    "PermissionDenied",
    "RateLimited",
    "StoreError",
    "UnsafeResponse",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A catalogue entry: what an error code means and how the user fixes it."""

    code: str
    meaning: str
    fix: str
    transient: bool = False


class OpenCASBError(Exception):
    """Root of the tree. ``str(err)`` is the one-line message; ``meaning``/``fix`` explain it."""

    transient: bool = False

    def __init__(self, message: str, *, meaning: str = "", fix: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.meaning = meaning or message
        self.fix = fix
        self.code = code

    def info(self) -> ErrorInfo:
        """The error as a catalogue entry, for storing in health state and showing in the UI."""
        return ErrorInfo(self.code or type(self).__name__, self.meaning, self.fix, self.transient)


class ConfigError(OpenCASBError):
    """Bad settings or connect form; the user must change them."""


class ConnectorError(OpenCASBError):
    """A SaaS API call failed. Carries the app, the HTTP status and the vendor error code."""

    def __init__(
        self,
        message: str,
        *,
        meaning: str = "",
        fix: str = "",
        code: str = "",
        app: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, meaning=meaning, fix=fix, code=code)
        self.app = app
        self.status = status
        self.retry_after = retry_after


class ConnectionFailed(ConnectorError):
    """No HTTP answer: DNS, TCP or TLS failed."""

    transient = True


class AuthFailed(ConnectorError):
    """The credential was refused (401); retrying will not help."""


class PermissionDenied(ConnectorError):
    """The credential is valid but lacks a role or scope (403)."""


class RateLimited(ConnectorError):
    """The API throttled us (429); ``retry_after`` says how long to wait, when known."""

    transient = True


class UpstreamError(ConnectorError):
    """A server error, a timeout or an unexpected answer; usually clears on retry."""

    transient = True


class UnsafeResponse(ConnectorError):
    """A response we refuse to act on, such as a Link header pointing off the org's host."""


class NormalizeError(OpenCASBError):
    """A raw record could not be normalized. The record is quarantined, never dropped."""


class StoreError(OpenCASBError):
    """The store failed, or holds a row we cannot read."""


class NotFound(OpenCASBError):
    """A named object does not exist."""


class InstanceBusy(OpenCASBError):
    """Another process (``holder``, "pid@host") is syncing or importing into the instance."""

    transient = True

    def __init__(self, message: str, *, holder: str, meaning: str = "", fix: str = "") -> None:
        super().__init__(message, meaning=meaning, fix=fix, code="instance_busy")
        self.holder = holder
